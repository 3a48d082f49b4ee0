"""Coupon templates (what a coupon gives, how long it lasts, how many a member may hold)
and issued coupons (a code, a state, an expiry)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum


class BenefitKind(Enum):
    DISCOUNT = "discount"  # a fixed amount off, in minor units of the program's currency
    PERCENT = "percent"  # a percentage off, optionally capped in minor units
    POINTS = "points"  # points credited to the member when the coupon is redeemed


@dataclass(frozen=True, slots=True)
class Benefit:
    kind: BenefitKind
    value: int  # minor units, a percentage (1-100) or points
    cap: int | None = None  # PERCENT only: the most it takes off, in minor units

    def discount_on(self, order_amount: int) -> int:
        """Minor units off an order of `order_amount` (integers: a percentage rounds down)."""
        if self.kind is BenefitKind.DISCOUNT:
            return min(self.value, order_amount)
        if self.kind is BenefitKind.PERCENT:
            off = order_amount * self.value // 100
            return off if self.cap is None else min(off, self.cap)
        return 0

    def as_json(self) -> dict[str, int | str | None]:
        return {"kind": self.kind.value, "value": self.value, "cap": self.cap}


@dataclass(frozen=True, slots=True)
class CouponTemplate:
    id: str
    name: str
    gives: Benefit
    valid_days: int
    per_member: int | None = None  # how many coupons of this template a member may ever be issued

    def expiry(self, issued_at: datetime) -> datetime:
        return issued_at + timedelta(days=self.valid_days)

    def may_issue(self, already_issued: int) -> bool:
        return self.per_member is None or already_issued < self.per_member


class CouponState(Enum):
    ISSUED = "issued"
    REDEEMED = "redeemed"
    EXPIRED = "expired"


class CouponError(ValueError):
    """A coupon that cannot be redeemed: `reason` is 'redeemed' or 'expired'."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IssuedCoupon:
    code: str
    template: str
    member_id: str
    gives: Benefit
    issued_at: datetime
    expires_at: datetime
    source: str  # the rule or challenge that issued it
    redeemed_at: datetime | None = None

    def state_at(self, now: datetime) -> CouponState:
        if self.redeemed_at is not None:
            return CouponState.REDEEMED
        return CouponState.EXPIRED if now >= self.expires_at else CouponState.ISSUED

    def redeem(self, now: datetime) -> IssuedCoupon:
        state = self.state_at(now)
        if state is CouponState.REDEEMED:
            raise CouponError("redeemed", f"coupon {self.code} was already redeemed")
        if state is CouponState.EXPIRED:
            raise CouponError("expired", f"coupon {self.code} expired at {self.expires_at.isoformat()}")
        return replace(self, redeemed_at=now)
