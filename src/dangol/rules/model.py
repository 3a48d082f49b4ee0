"""A ruleset as validated values: frozen dataclasses, integers only. Built by
`validation.build_ruleset` from plain data; nothing here reads files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from types import MappingProxyType
from typing import TYPE_CHECKING

from ..engagement.challenges import Challenge
from ..engagement.coupons import CouponTemplate
from .expressions import NO_FIELDS, Expression
from .facts import FieldValue
from .vocabulary import Type

_NO_DEFAULTS: Mapping[str, FieldValue] = MappingProxyType({})

if TYPE_CHECKING:  # the tiers core imports this module: no import cycle at run time
    from ..fraud.policy import FraudPolicy
    from ..tiers.ladder import Ladder


class Rounding(Enum):
    """How a rate's fractional points are settled: floor (the default) never awards a
    point that was not fully earned."""

    FLOOR = "floor"
    HALF_UP = "half_up"
    CEILING = "ceiling"


class Beneficiary(Enum):
    MEMBER = "member"  # the member the event is about
    REFERRER = "referrer"  # event.referrer; never the member themselves (self-referral)


class Period(Enum):
    """A cap's window. event: this event only; order: every event with this order id;
    day/week/month: calendar periods in the member's time zone (ISO weeks, Monday first);
    lifetime: every event of the member, ever (one window that never closes)."""

    EVENT = "event"
    ORDER = "order"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    LIFETIME = "lifetime"

    @property
    def phrase(self) -> str:
        """How a withheld reason names the window: "per month", or "ever"."""
        return "ever" if self is Period.LIFETIME else f"per {self.value}"


@dataclass(frozen=True, slots=True)
class Rate:
    """`points` per `per` minor units of the base amount (event.amount unless `of` says otherwise):
    points=5, per=100 is 5%. points = round(base * points / per), in integers."""

    points: int
    per: int
    rounding: Rounding = Rounding.FLOOR
    of: Expression | None = None


@dataclass(frozen=True, slots=True)
class AwardPoints:
    """Exactly one of rate, fixed, multiplier. A multiplier factor k adds (k - 1) times the
    points the base (rate and fixed) rules awarded the member for this event."""

    rate: Rate | None = None
    fixed: int | None = None
    multiplier: int | None = None
    to: Beneficiary = Beneficiary.MEMBER
    # Whether a refund of the event's order takes these points back (the default). False for
    # a reward of the event itself (a review): its earn carries no order reference.
    refundable: bool = True


@dataclass(frozen=True, slots=True)
class IssueCoupon:
    template: str


@dataclass(frozen=True, slots=True)
class AwardBadge:
    badge: str


@dataclass(frozen=True, slots=True)
class AdvanceChallenge:
    challenge: str
    amount: int = 1


Action = AwardPoints | IssueCoupon | AwardBadge | AdvanceChallenge


@dataclass(frozen=True, slots=True)
class Cap:
    """At most `points` points and/or `times` firings of the rule per `per` window, per
    member (the event's member, whoever the points go to)."""

    per: Period
    points: int | None = None
    times: int | None = None


@dataclass(frozen=True, slots=True)
class EarningRule:
    id: str
    on: tuple[str, ...]  # event types, sorted
    actions: tuple[Action, ...]
    description: str = ""
    when: Expression | None = None
    priority: int = 0
    exclusive: bool = False
    group: str = ""
    caps: tuple[Cap, ...] = ()
    budget: int | None = None  # points, program-wide, for the rule's whole life
    valid_from: date | None = None  # inclusive, the member's local date
    valid_until: date | None = None  # inclusive

    @property
    def is_multiplier(self) -> bool:
        return any(isinstance(a, AwardPoints) and a.multiplier is not None for a in self.actions)


@dataclass(frozen=True, slots=True)
class EventField:
    """A custom field `name` of custom event type `event_type`: rules read it as
    `event.fields.<name>`; an event of that type that sends it must send a `type` (or null).
    With a `default` (of `type`), an event that omits it (or sends null) reads the default,
    so rules may compute with it; without one (None), it reads None."""

    event_type: str
    name: str
    type: Type  # integer, string or boolean
    default: FieldValue = None


@dataclass(frozen=True, slots=True)
class Ruleset:
    program: str
    version: str
    effective_from: datetime
    currency: str
    rules: tuple[EarningRule, ...]  # sorted by id
    event_types: tuple[str, ...] = ()  # custom types the program declares, sorted
    tiers: Ladder | None = None  # the `tiers:` section (dangol.tiers)
    challenges: tuple[Challenge, ...] = ()  # engagement: sorted by id (dangol.engagement)
    coupons: tuple[CouponTemplate, ...] = ()  # engagement: coupon templates, sorted by id
    event_fields: tuple[EventField, ...] = ()  # custom types' declared fields, sorted by type then name
    fraud: FraudPolicy | None = None  # the `fraud:` section (dangol.fraud): velocity rules, rings
    _by_event: dict[str, tuple[tuple[EarningRule, ...], tuple[EarningRule, ...]]] = field(
        default_factory=dict, compare=False, repr=False, hash=False)
    _fields_by_event: dict[str, dict[str, Type]] = field(default_factory=dict, compare=False, repr=False, hash=False)
    _defaults_by_event: dict[str, dict[str, FieldValue]] = field(default_factory=dict, compare=False, repr=False,
                                                                 hash=False)

    def __post_init__(self) -> None:
        # The evaluation order, computed once: per event type, base rules then multiplier
        # rules, each by priority (highest first) then id. Never the document's order.
        for kind in {k for rule in self.rules for k in rule.on}:
            ordered = sorted((r for r in self.rules if kind in r.on), key=lambda r: (-r.priority, r.id))
            self._by_event[kind] = (tuple(r for r in ordered if not r.is_multiplier),
                                    tuple(r for r in ordered if r.is_multiplier))
        for declared in self.event_fields:
            self._fields_by_event.setdefault(declared.event_type, {})[declared.name] = declared.type
            if declared.default is not None:
                self._defaults_by_event.setdefault(declared.event_type, {})[declared.name] = declared.default

    def fields_of(self, event_type: str) -> Mapping[str, Type]:
        """The custom fields `event_type` declares, with their types (none for a built-in type)."""
        return self._fields_by_event.get(event_type, NO_FIELDS)

    def defaults_of(self, event_type: str) -> Mapping[str, FieldValue]:
        """The declared defaults of `event_type`'s custom fields: what an event that omits one reads."""
        return self._defaults_by_event.get(event_type, _NO_DEFAULTS)

    def phases(self, event_type: str) -> tuple[tuple[EarningRule, ...], tuple[EarningRule, ...]]:
        return self._by_event.get(event_type, ((), ()))
