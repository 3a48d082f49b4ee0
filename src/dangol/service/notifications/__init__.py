"""Notifications: the outbox written with every change, its dispatch to webhooks, e-mail and
members' channels, and the settings behind them (docs/notifications.md)."""
