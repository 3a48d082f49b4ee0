"""Notifications' pure core: the kinds of messages and channels, retry timing, the webhook
URL guard and e-mail templates. No I/O: the service (service/notifications/) loads, decides
with these, and writes; the senders (delivery/) do the network."""
