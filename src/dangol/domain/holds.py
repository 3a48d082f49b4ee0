"""Two-phase redemption at the point of sale: hold, then capture or void."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class HoldStatus(StrEnum):
    ACTIVE = "active"
    CAPTURED = "captured"
    VOIDED = "voided"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Hold:
    id: int
    program_id: str
    member_id: str
    amount: int
    status: HoldStatus
    created_at: datetime
    expires_at: datetime
    transaction_id: int
    drawn: tuple[tuple[int, int], ...]  # (lot id, points) in the order they were taken
    captured: int = 0
    closed_at: datetime | None = None
    order_ref: str | None = None

    def is_due(self, at: datetime) -> bool:
        return self.status is HoldStatus.ACTIVE and self.expires_at <= at

    def close(self, status: HoldStatus, at: datetime, captured: int = 0) -> Hold:
        return replace(self, status=status, closed_at=at, captured=captured)
