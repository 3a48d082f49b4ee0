"""Response bodies of fraud detection's routes (the review queue, anomaly scores)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FindingOut(BaseModel):
    rule_id: str = Field(description="The velocity rule's id, or `rings`.")
    action: str = Field(description="flag, hold or refuse")
    reason: str


class SettlementOut(BaseModel):
    transactions: list[dict[str, Any]] = Field(description="The ledger transactions the settlement wrote "
                                                          "(`release` or `reverse`); none when nothing was left.")
    points: int


class FraudReviewOut(BaseModel):
    id: int
    member_id: str
    event_id: str
    action: str = Field(description="flag (the points were credited) or hold (credited as pending)")
    status: str = Field(description="open, released or reversed")
    points: int = Field(description="The member's points the event earned")
    findings: list[FindingOut]
    created_at: str
    resolved_at: str | None
    resolved_by: str | None = Field(description="`api-key:<id>` or `cli`")
    resolution: SettlementOut | None


class FraudReviewPage(BaseModel):
    items: list[FraudReviewOut]
    next_cursor: str | None


class AnomalyScoreOut(BaseModel):
    member_id: str
    score: int = Field(description="0 (typical) to 1,000,000 (isolated at once), parts per million")
    trained: bool = Field(description="Whether the member's behaviour was in the training set (their consent)")
    features: dict[str, float]
    scored_at: str


class AnomalyScores(BaseModel):
    items: list[AnomalyScoreOut]
