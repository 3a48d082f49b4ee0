"""Response bodies of the insight routes (for validation and OpenAPI)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    weight: int = Field(ge=1, le=10_000, description="A relative share of members")


class ExperimentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    experiment_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    variants: list[VariantIn] = Field(min_length=2, max_length=10, description="The first is the control")


class Experiment(BaseModel):
    program_id: str
    experiment_id: str
    variants: list[VariantIn]


class ExposureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")


class Exposure(BaseModel):
    program_id: str
    experiment_id: str
    member_id: str
    variant: str = Field(description="The variant the member's hash assigns: the same every time")
    exposed_at: str = Field(description="The member's first exposure")


class SampleRatioOut(BaseModel):
    observed: dict[str, int]
    expected_shares: dict[str, float]
    chi_square: float
    p_value: float
    mismatch: bool = Field(description="p < 0.001: the split does not match the design; no effect is shown")


class EffectOut(BaseModel):
    variant: str
    control_mean: float
    variant_mean: float
    difference: float = Field(description="Of the CUPED-adjusted metric when `cuped`; the means are raw")
    relative: float | None = Field(description="difference / control_mean; null when the control mean is 0")
    confidence_interval: list[float] = Field(description="Fixed-horizon (Welch) 95% interval of the difference")
    p_value: float
    always_valid_p: float = Field(description="mSPRT: valid however often one looks")
    always_valid_interval: list[float]
    cuped: bool
    variance_reduction: float


class ExperimentReport(BaseModel):
    program_id: str
    experiment_id: str
    variants: list[VariantIn]
    metric: str = Field(description="spend_minor: spend per exposed member in the `days` after exposure")
    days: int
    sample_ratio: SampleRatioOut
    withheld_because: str | None
    effects: list[EffectOut] | None
