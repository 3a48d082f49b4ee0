"""Who gets an outbox row: the decision, without I/O.

- every webhook subscription of the program (not a member channel) that wants its type;
- if its type is a kind of message to the member: each channel the member gets that kind on
  (their choice, else the kind's defaults), when allowed: marketing kinds only with the
  member's marketing consent, transactional e-mail only if the program's policy sends it.
  E-mail goes to the member's address; push, SMS and messenger to every subscription marked
  as that member channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .kinds import MESSAGE_KINDS, Channel, channels_for


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A subscription as routing sees it."""

    id: str
    event_types: tuple[str, ...]
    member_channel: str | None
    enabled: bool = True

    def wants(self, event_type: str) -> bool:
        return self.enabled and ("*" in self.event_types or event_type in self.event_types)


@dataclass(frozen=True, slots=True)
class Route:
    channel: str  # "webhook", or a member channel
    subscription_id: str | None  # None: e-mail


@dataclass(frozen=True, slots=True)
class Audience:
    """What routing needs to know of the member a row is about."""

    chosen: dict[str, list[str]] | None  # their channels per kind, None: never chose
    marketing_consent: bool
    transactional_email: bool  # the program's policy


def routes(event_type: str, endpoints: Sequence[Endpoint], audience: Audience | None) -> list[Route]:
    found = [Route("webhook", e.id) for e in endpoints if e.member_channel is None and e.wants(event_type)]
    kind = MESSAGE_KINDS.get(event_type)
    if kind is None or audience is None:
        return found
    if kind.marketing and not audience.marketing_consent:
        return found
    for channel in channels_for(event_type, audience.chosen):
        if channel is Channel.EMAIL:
            if kind.marketing or audience.transactional_email:
                found.append(Route(Channel.EMAIL.value, None))
        else:
            found += [Route(channel.value, e.id) for e in endpoints
                      if e.member_channel == channel.value and e.wants(event_type)]
    return found
