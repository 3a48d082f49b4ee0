"""Response bodies of the insight routes (for validation and OpenAPI)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PointValueOut(BaseModel):
    minor: int = Field(description="Minor units of the program's currency ...")
    points: int = Field(description="... that this many points are worth")


class KpiRow(BaseModel):
    period: str = Field(description="The period's first day (ISO date): the day, the week's Monday, the month's 1st")
    from_: str = Field(alias="from", description="First day of the period inside the range")
    to: str = Field(description="Last day of the period inside the range")
    enrolments: int
    active_members_30d: int = Field(description="Members who bought or redeemed in the 30 days to `to`")
    active_members_90d: int
    points_issued: int
    points_redeemed: int
    points_expired: int
    points_reversed: int = Field(description="Clawed back by refunds")
    points_adjusted: int = Field(description="Net operator adjustments")
    points_outstanding: int = Field(description="Held by members at the end of `to`: available, pending and held")
    liability_minor: int = Field(description="points_outstanding at the point value, rounded half-even")
    redemption_rate: float | None = Field(description="points_redeemed / points_issued in the period; null when none issued")
    breakage_to_date: float | None = Field(description="Points expired / points issued, since the start, to `to`")
    purchases: int
    revenue_minor: int
    average_order_minor: int | None = Field(description="revenue_minor / purchases, rounded half-even; null without purchases")
    repeat_purchase_rate: float | None = Field(
        description="Of members who bought by `to`, the share who bought on a second day")


class KpiReport(BaseModel):
    program_id: str
    period: str = Field(description="day, week or month")
    from_: str = Field(alias="from")
    to: str
    point_value: PointValueOut
    tier_distribution: dict[str, int] = Field(description="Members per tier now")
    rows: list[KpiRow]
