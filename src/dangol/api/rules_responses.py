"""Response bodies of the rulesets, events, profile and referral-code routes, for the
OpenAPI document: the JSON that `service.rulesets`, `service.event_batch`,
`service.profiles` and `service.referrals` build, field for field."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from .engagement_schemas import Badge, IssuedCouponOut
from .schemas import BalancesOut, LogReceiptOut, MemberOut, MetricOut, RefundOut, TransactionOut, WindowOut

# ---------------------------------------------------------------- rulesets


class RulePolicyOut(BaseModel):
    notice_days: int = Field(description="Days of notice a change that worsens earning needs")
    default_time_zone: str = Field(description="IANA time zone of members who set none")


class RuleChangeOut(BaseModel):
    rule: str | None = Field(description="The rule changed; null for a change of the ruleset as a whole")
    change: str
    worsens: bool = Field(description="Whether members earn less for it")


class PublishedRulesetOut(BaseModel):
    hash: str = Field(description="`sha256:` and the hex SHA-256 of the ruleset's canonical JSON")
    number: int = Field(description="The publication number in the program, from 1")
    version: str
    effective_from: datetime
    published_at: datetime
    status: Literal["in_force", "upcoming", "superseded"]
    urgent: bool
    urgent_reason: str | None = Field(description="Why an urgent change could not wait; null unless urgent")
    changes: list[RuleChangeOut] = Field(description="What changed against the ruleset in force before it")


class RulesetDocumentOut(PublishedRulesetOut):
    document: dict[str, Any] = Field(description="The ruleset's canonical JSON, what its hash is of (docs/rules.md)")
    source: str = Field(description="The document's text as it was published")


class RulesetHistoryOut(BaseModel):
    program: str
    policy: RulePolicyOut
    current: str | None = Field(description="The hash of the ruleset in force; null when none is")
    items: list[PublishedRulesetOut] = Field(description="Newest first")


class UpcomingRulesetsOut(BaseModel):
    program: str
    items: list[RulesetDocumentOut] = Field(description="In the order they take effect")


class RulesetValidationOut(BaseModel):
    valid: Literal[True] = Field(description="Always true: an invalid document is a 422 listing its problems")
    hash: str
    program: str
    version: str
    effective_from: datetime
    rules: int = Field(description="How many rules the document has")
    changes: list[RuleChangeOut] = Field(description="Against the ruleset in force; empty when none is")
    worsens: bool


# ---------------------------------------------------------------- members


class ReferralCodeOut(BaseModel):
    member_id: str
    referral_code: str = Field(description="8 characters, without 0, O, 1 or I")


# ---------------------------------------------------------------- events


class PointsAwardOut(BaseModel):
    rule_id: str = Field(description="The rule, `challenge:<id>` for a challenge's reward, `tier:<name>` for a "
                                     "tier's bonus")
    points: int
    member_id: str
    to: Literal["member", "referrer"]
    transaction: TransactionOut | None = Field(description="The earn it posted; null in a quote")
    log: list[LogReceiptOut] = Field(description="The earn's log receipts; empty in a quote")


class ChallengeRewardsOut(BaseModel):
    points: int
    badge: str | None = Field(description="The badge awarded; null if none, or if the member had it already")
    coupon: str | None = Field(description="The code of the coupon issued; null if none (or in a quote)")


class ChallengeStepOut(BaseModel):
    challenge: str
    name: str
    period: str = Field(description="2025-03 (month), 2025-Q1 (quarter) or streak")
    progress: int
    target: int
    completed: bool = Field(description="Whether this event completed it")
    week: str | None = Field(None, description="A streak's current week")
    week_progress: int | None = Field(None, description="A streak's progress in its current week")
    rewards: ChallengeRewardsOut | None = Field(None, description="What completing it gave (present when completed)")


class TierChangeEffectOut(BaseModel):
    member_id: str
    from_: str = Field(alias="from")
    to: str
    reason: str = Field(description="upgrade, downgrade or grace")
    metric: MetricOut
    at: datetime
    window: WindowOut


class EffectsOut(BaseModel):
    points: list[PointsAwardOut]
    coupons: list[IssuedCouponOut]
    badges: list[Badge]
    challenges: list[ChallengeStepOut]
    tier_changes: list[TierChangeEffectOut]


class WithheldOut(BaseModel):
    rule_id: str | None = Field(description="The rule (or `challenge:<id>`) whose effect was held back")
    reason: str
    points: int | None = Field(None, description="The points held back (absent for a coupon)")


class RefundAskedOut(BaseModel):
    amount: int = Field(description="Minor units refunded")
    full: bool = Field(description="Whether it refunds all that was left of the order")


class RefundReceiptOut(BaseModel):
    refund: RefundOut
    transaction: TransactionOut | None = Field(description="The clawback; null when nothing was taken, or in a quote")
    balance: BalancesOut | None = Field(None, description="The member's balance after it (absent in a quote)")
    log: list[LogReceiptOut] = Field(default_factory=list, description="Its log receipts (absent in a quote)")


class ReversalOut(BaseModel):
    order_id: str
    refund: RefundAskedOut
    refund_receipt: RefundReceiptOut


class EventResultOut(BaseModel):
    event_id: str
    recorded: bool = Field(description="false in a quote: nothing was written")
    ruleset: str = Field(description="The hash of the ruleset that judged the event")
    type: str
    member_id: str
    occurred_at: datetime
    effects: EffectsOut
    total_points: int = Field(description="Points the event's member earned by it")
    withheld: list[WithheldOut] = Field(description="What caps, budgets and refusals held back")
    balance: BalancesOut = Field(description="The member's balance after the event")
    enrolled: MemberOut | None = Field(None, description="A signup's new member (absent otherwise)")
    reversal: ReversalOut | None = Field(None, description="A refund's clawback (absent otherwise)")
