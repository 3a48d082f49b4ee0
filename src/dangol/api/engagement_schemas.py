"""Request and response bodies of the engagement routes (for validation and OpenAPI)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .schemas import EarnReceipt


class RedeemCouponIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_amount: int | None = Field(None, ge=0, le=10**15,
                                     description="The order's amount in minor units: the answer says what comes off it.")


class Benefit(BaseModel):
    kind: str = Field(description="discount (minor units off), percent (off, up to cap), or points")
    value: int
    cap: int | None


class _CouponFields(BaseModel):
    template: str
    name: str
    gives: Benefit
    member_id: str
    state: str = Field(description="issued, redeemed or expired")
    source: str = Field(description="The rule or `challenge:<id>` that issued it")
    issued_at: str
    expires_at: str
    redeemed_at: str | None


class Coupon(_CouponFields):
    code: str


class IssuedCouponOut(_CouponFields):
    """A coupon an event issued, or in a quote would issue."""

    code: str | None = Field(description="null in a quote: a coupon is given its code when it is issued")


class Redeemed(BaseModel):
    coupon: Coupon
    discount: int | None = Field(description="Minor units off order_amount, for a discount coupon")
    points: EarnReceipt | None = Field(description="The ledger receipt of a points coupon's credit")


class CouponList(BaseModel):
    items: list[Coupon]


class Badge(BaseModel):
    badge: str
    source: str
    awarded_at: str


class BadgeList(BaseModel):
    items: list[Badge]


class ChallengeProgress(BaseModel):
    challenge: str
    period: str = Field(description="2025-03 (month), 2025-Q1 (quarter) or streak")
    progress: int = Field(description="Toward target: events, minor units, or weeks of a streak")
    target: int
    completions: int
    completed_at: str | None
    week: str | None = None
    week_progress: int | None = None


class ChallengeList(BaseModel):
    items: list[ChallengeProgress]


class Standing(BaseModel):
    rank: int
    display_name: str
    points: int


class Leaderboard(BaseModel):
    program_id: str
    month: str
    time_zone: str = Field(description="The program's time zone (its rules policy), whose calendar month this is")
    from_: str = Field(alias="from")
    until: str
    entries: list[Standing]
