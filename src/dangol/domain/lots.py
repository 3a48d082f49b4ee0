"""Point lots: every credit to a member is a lot, spent first-expiring-first."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class LotSource(StrEnum):
    EARN = "earn"
    ADJUST = "adjust"
    TRANSFER = "transfer"


class MovementKind(StrEnum):
    """Where points taken from a lot went. A lot's amount is always its remainder plus
    the sum of its movements, so every point is in exactly one of these states."""

    HELD = "held"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    REVERSED = "reversed"
    ADJUSTED = "adjusted"
    TRANSFERRED = "transferred"


@dataclass(frozen=True, slots=True)
class PointLot:
    id: int
    member_id: str
    transaction_id: int
    source: LotSource
    amount: int
    remaining: int
    earned_at: datetime
    expires_at: datetime
    available_at: datetime
    released: bool = True
    order_ref: str | None = None

    @property
    def is_pending(self) -> bool:
        return not self.released

    def spendable(self, at: datetime) -> bool:
        """Points can be spent between when they were earned and when they expire; the
        first bound matters to back-dated operations (an import of history)."""
        return self.released and self.remaining > 0 and self.earned_at <= at < self.expires_at

    def with_remaining(self, remaining: int) -> PointLot:
        if not 0 <= remaining <= self.amount:
            raise ValueError(f"lot {self.id} remainder {remaining} outside 0..{self.amount}")
        return replace(self, remaining=remaining)


@dataclass(frozen=True, slots=True)
class LotMovement:
    lot_id: int
    transaction_id: int
    kind: MovementKind
    amount: int  # positive: taken from the lot into `kind`; negative: given back from it


def fefo_key(lot: PointLot) -> tuple[datetime, datetime, int]:
    """First-expiring-first-out; ties go to the oldest lot, then the lowest id."""
    return (lot.expires_at, lot.earned_at, lot.id)


def plan_consumption(lots: list[PointLot], points: int) -> list[tuple[PointLot, int]]:
    """Which lots (already in spending order) give how much to cover `points`.
    Returns as much as the lots hold; the caller decides what a shortfall means."""
    plan: list[tuple[PointLot, int]] = []
    left = points
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        if take > 0:
            plan.append((lot, take))
            left -= take
    return plan
