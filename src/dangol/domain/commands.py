"""Commands: what a caller asks the ledger to do. Plain values, so that they can be
fingerprinted for idempotency, read from an import file, or replayed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .member import MemberStatus
from .money import Money


@dataclass(frozen=True, slots=True)
class Enroll:
    """Enrols the brand's customer `external_ref`. The member id is generated unless the
    caller brings one (an import that refers to the member later in the same batch)."""

    external_ref: str
    member_id: str | None = None


@dataclass(frozen=True, slots=True)
class SetMemberStatus:
    member_id: str
    status: MemberStatus
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RulePoints:
    """The points one earning rule gave, as part of an event's earn."""

    rule_id: str
    points: int


@dataclass(frozen=True, slots=True)
class Earn:
    """Points for an order: either explicit `points`, or computed from `money` at the
    program's earn rate. `available_at` later than now makes the lot pending until then.
    `by_rule` splits the points among the rules of one event that paid them: the earn is
    one transaction (and one lot) with a pair of postings per rule, each naming its rule;
    `points` is then their sum."""

    member_id: str
    points: int | None = None
    money: Money | None = None
    order_ref: str | None = None
    available_at: datetime | None = None
    expires_at: datetime | None = None
    reason: str | None = None
    # Set when an earning rule produced the points: which rule, of which published ruleset
    # (its content hash). Recorded with the transaction, so anyone can tell why it exists.
    rule_id: str | None = None
    ruleset_hash: str | None = None
    by_rule: tuple[RulePoints, ...] = ()


@dataclass(frozen=True, slots=True)
class Redeem:
    member_id: str
    points: int
    order_ref: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Reverse:
    """A refund of an order: claws back what the order earned, in proportion to the
    refunded money (all of it when `refund` is None)."""

    member_id: str
    order_ref: str
    refund: Money | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Adjust:
    member_id: str
    points: int
    reason: str
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PlaceHold:
    member_id: str
    points: int
    timeout_seconds: int | None = None
    order_ref: str | None = None


@dataclass(frozen=True, slots=True)
class CaptureHold:
    hold_id: int
    points: int | None = None


@dataclass(frozen=True, slots=True)
class VoidHold:
    hold_id: int


@dataclass(frozen=True, slots=True)
class Transfer:
    member_id: str
    to_member_id: str
    points: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SettleReview:
    """A fraud review's decision on the points an earn credited (held as pending for
    review): `release` makes what is left of them available now; otherwise they are
    reversed (taken back, pending or not)."""

    member_id: str
    transaction_id: int
    release: bool
    reason: str | None = None


LedgerCommand = Earn | Redeem | Reverse | Adjust | PlaceHold | CaptureHold | VoidHold | Transfer | SettleReview
