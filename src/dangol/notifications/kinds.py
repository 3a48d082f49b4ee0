"""What dangol tells, and through what.

Every outbox row has an event type (`points.earned`, `tier.changed`, ...): webhooks subscribe
to types. Some types are also messages to the member (`MESSAGE_KINDS`), sent through the
channels the member chose for that kind: e-mail, or a member channel (push, SMS, messenger)
that is a brand's own sender behind a webhook. Marketing kinds go only to members who gave
marketing consent; transactional kinds follow the program's policy."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..domain.errors import InvalidRequest


class Channel(StrEnum):
    EMAIL = "email"
    PUSH = "push"
    SMS = "sms"
    MESSENGER = "messenger"


MEMBER_CHANNELS = (Channel.PUSH, Channel.SMS, Channel.MESSENGER)  # the brand's senders, behind webhooks

# The outbox's event types. A ledger transaction of kind k is `points.<past tense of k>`.
LEDGER_TYPES = {
    "earn": "points.earned", "redeem": "points.redeemed", "expire": "points.expired", "reverse": "points.reversed",
    "adjust": "points.adjusted", "transfer": "points.transferred", "release": "points.released",
    "hold": "points.held", "capture": "points.captured", "void": "points.hold_voided",
}
EVENT_TYPES = frozenset({
    *LEDGER_TYPES.values(), "points.expiring", "tier.changed", "coupon.issued", "challenge.completed",
    "member.erased", "checkpoint.signed", "statement.monthly",
    "fraud.review_opened", "fraud.review_settled",  # for the brand's fraud team, never to the member
})


@dataclass(frozen=True, slots=True)
class MessageKind:
    name: str
    marketing: bool
    default_channels: tuple[Channel, ...]


MESSAGE_KINDS = {kind.name: kind for kind in (
    MessageKind("points.earned", marketing=False, default_channels=()),
    MessageKind("points.expiring", marketing=False, default_channels=(Channel.EMAIL,)),
    MessageKind("points.expired", marketing=False, default_channels=()),
    MessageKind("tier.changed", marketing=False, default_channels=(Channel.EMAIL,)),
    MessageKind("statement.monthly", marketing=False, default_channels=(Channel.EMAIL,)),
    # A coupon is an offer: marketing, sent only with the member's marketing consent.
    MessageKind("coupon.issued", marketing=True, default_channels=(Channel.EMAIL,)),
)}
LANGUAGES = ("ko", "en")


def check_event_types(types: object) -> list[str]:
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        raise InvalidRequest("event_types is a non-empty list of event types", field="event_types")
    unknown = sorted(set(types) - EVENT_TYPES - {"*"})
    if unknown:
        raise InvalidRequest(f"unknown event types {unknown}; known: {sorted(EVENT_TYPES)} or '*'",
                             field="event_types")
    return sorted(set(types))


def check_channels(channels: object) -> dict[str, list[str]]:
    """A member's choice: {message kind: [channel, ...]} ([] turns a kind off)."""
    if not isinstance(channels, dict):
        raise InvalidRequest("channels maps a kind of message to a list of channels", field="channels")
    checked: dict[str, list[str]] = {}
    known = {c.value for c in Channel}
    for kind, chosen in channels.items():
        if kind not in MESSAGE_KINDS:
            raise InvalidRequest(f"unknown kind of message {kind!r}; known: {sorted(MESSAGE_KINDS)}",
                                 field=f"channels.{kind}")
        if not isinstance(chosen, list) or not set(chosen) <= known:
            raise InvalidRequest(f"channels of {kind} are some of {sorted(known)}", field=f"channels.{kind}")
        checked[kind] = sorted(set(chosen))
    return checked


def check_language(language: object, field: str = "language") -> str:
    if language not in LANGUAGES:
        raise InvalidRequest(f"language is one of {list(LANGUAGES)}", field=field)
    assert isinstance(language, str)
    return language


def channels_for(kind: str, chosen: dict[str, list[str]] | None) -> list[Channel]:
    """The channels a member gets `kind` on: their choice, else the kind's defaults."""
    message = MESSAGE_KINDS.get(kind)
    if message is None:
        return []
    if chosen is not None and kind in chosen:
        return [Channel(c) for c in chosen[kind]]
    return list(message.default_channels)
