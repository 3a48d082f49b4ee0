"""A loyalty program: one brand's point currency and the policy its ledger follows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .errors import InvalidRequest
from .money import EarnRate, Money, Rounding

PROGRAM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


@dataclass(frozen=True, slots=True)
class ProgramPolicy:
    lot_validity_days: int = 365
    min_redemption: int = 1_000
    allow_negative_balance: bool = False
    allow_transfers: bool = False
    hold_timeout_seconds: int = 900
    earn_rate: EarnRate = field(default_factory=EarnRate)
    rounding: Rounding = Rounding.FLOOR

    def __post_init__(self) -> None:
        if not 1 <= self.lot_validity_days <= 36_500:
            raise InvalidRequest("lot_validity_days must be between 1 and 36500")
        if self.min_redemption < 1:
            raise InvalidRequest("min_redemption must be at least 1")
        if not 1 <= self.hold_timeout_seconds <= 30 * 86_400:
            raise InvalidRequest("hold_timeout_seconds must be between 1 second and 30 days")

    def expiry_for(self, earned_at: datetime) -> datetime:
        return earned_at + timedelta(days=self.lot_validity_days)


@dataclass(frozen=True, slots=True)
class Program:
    id: str
    name: str
    currency: str
    policy: ProgramPolicy = field(default_factory=ProgramPolicy)
    created_at: datetime | None = None
    # A test program runs by its own test clock and is never switched to live.
    test_mode: bool = False

    def __post_init__(self) -> None:
        if not PROGRAM_ID.match(self.id):
            raise InvalidRequest("program id must be 2-63 lowercase letters, digits or dashes")
        Money(0, self.currency)  # validates the code

    def points_for(self, money: Money) -> int:
        money.require_currency(self.currency)
        return self.policy.earn_rate.points_for(money.amount, self.policy.rounding)
