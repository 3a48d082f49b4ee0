"""What a rule can see: the event, the member's state, the order the event names, the
moment (in the member's time zone) and the program. Plain values handed in by the caller; the rules core never reads a
clock, a database or the environment, so the same facts always give the same result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

# The event types every program knows; a ruleset may declare more (`event_types`).
BUILTIN_EVENT_TYPES = ("birthday", "purchase", "referral", "refund", "review", "signup", "social_share", "survey")

FieldValue = str | int | bool | None  # what a custom event field may hold


@dataclass(frozen=True, slots=True)
class Event:
    """A business event sent by an integration. `amount` is in minor units of `currency`
    (KRW has none: 12,000 KRW is 12000). `referrer` is the member who referred the event's
    member, when the integration knows one (a purchase by a referred member, a referral).
    `fields` are the custom fields the integration sent, as sorted (name, value) pairs; rules
    see only those the event's type declares (`event.fields.<name>`)."""

    type: str
    amount: int = 0
    currency: str | None = None
    order_id: str | None = None
    categories: tuple[str, ...] = ()
    item_count: int = 0
    referrer: str | None = None
    tags: tuple[str, ...] = ()
    fields: tuple[tuple[str, FieldValue], ...] = ()


@dataclass(frozen=True, slots=True)
class MemberState:
    """The member the event is about, as the ledger knew it *before* this event:
    `purchases_this_month` does not count the purchase being evaluated; `first_purchase`
    says that this event is the member's first completed purchase."""

    member_id: str
    enrolled_at: datetime
    time_zone: str = "UTC"
    tier: str | None = None
    tags: tuple[str, ...] = ()
    purchases_this_month: int = 0
    purchases_total: int = 0
    spend_this_quarter: int = 0
    first_purchase: bool = False
    birthday_month: int | None = None
    birthday_day: int | None = None


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """The order an event names (`event.order_id`), as recorded *before* this event.
    `exists`: some member's purchase of it was recorded in the program; `mine`: the event's
    member bought it; `refunded`: the member's order is fully refunded; `amount`: what the
    member's order was worth, in minor units (0 when the order is not theirs). An event
    without an order id sees the defaults: no order."""

    exists: bool = False
    mine: bool = False
    refunded: bool = False
    amount: int = 0


NO_ORDER = OrderFacts()


# Moment, ProgramFacts and Facts are built for every evaluation and never leave it: plain
# (not frozen) slotted dataclasses, as frozen ones cost a setattr call per field.
@dataclass(slots=True)
class Moment:
    """`now` seen in the member's time zone: what `now.*`, `event.weekday`, `event.hour`,
    campaign dates and per-day/week/month caps are measured in."""

    instant: datetime
    local: datetime
    local_date: date
    year: int
    month: int
    day: int
    weekday: int  # Monday 0 ... Sunday 6, as datetime.weekday()
    hour: int
    date: str  # ISO 8601, "2025-03-14": compares correctly as a string

    @classmethod
    def of(cls, now: datetime, time_zone: str) -> Moment:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be an aware datetime (with a time zone)")
        local = now.astimezone(ZoneInfo(time_zone))  # ZoneInfo caches its instances
        day = local.date()
        return cls(now, local, day, local.year, local.month, local.day, local.weekday(), local.hour, day.isoformat())


@dataclass(slots=True)
class ProgramFacts:
    id: str
    currency: str


@dataclass(slots=True)
class Facts:
    """The roots an expression resolves its names from. `fields`: the event's custom fields
    that its type declares, each of its declared type (`evaluate` checks them), by name."""

    event: Event
    member: MemberState
    now: Moment
    program: ProgramFacts
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    order: OrderFacts = NO_ORDER
