"""Where the events service hands over to tiers and engagement (issue 3's other parts),
inside the event's transaction, after the ledger writes. Each is one small function, so that
wiring the real service in is a one-line change:

- engagement: `EngagementService.apply(conn, program, member_id, event, evaluation, at) -> dict`
  with the keys `coupons`, `badges`, `challenges`;
- tiers: `TierService.after_activity(conn, program_id, member_ids, at) -> list[dict]`;
- the member's tier for the rules: `member_tier(conn, program_id, member_id, at)`.

Until then the effects are the evaluation's own (coupons, badges and challenge progress as
the rules produced them) and there are no tiers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..rules import Evaluation, Event


def member_tier(conn: Connection, program_id: str, member_id: str, at: datetime) -> str | None:
    return None


def engagement_effects(conn: Connection, program_id: str, member_id: str, event: Event, evaluation: Evaluation,
                       at: datetime, *, write: bool) -> dict[str, list[dict[str, Any]]]:
    return {
        "coupons": [{"rule_id": c.rule_id, "template": c.template} for c in evaluation.coupons],
        "badges": [{"rule_id": b.rule_id, "badge": b.badge} for b in evaluation.badges],
        "challenges": [{"rule_id": c.rule_id, "challenge": c.challenge, "amount": c.amount}
                       for c in evaluation.challenges],
    }


def tier_changes(conn: Connection, program_id: str, member_ids: list[str], at: datetime, *,
                 write: bool) -> list[dict[str, Any]]:
    return []


def tier_distribution(conn: Connection, program_id: str, at: datetime) -> dict[str, int] | None:
    """Members per tier at `at` (simulation reports it for the candidate's scratch ledger);
    None while the program has no tiers."""
    return None
