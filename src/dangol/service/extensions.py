"""Where the events service hands over to tiers and engagement (issue 3's other parts),
inside the event's transaction, after the ledger writes:

- `member_tier`: the member's tier for the rules (`MemberState.tier`), from the stored
  standing (`TierService.member_tiers`);
- `engagement_effects`: coupons, badges, challenge progress and completion rewards
  (`EngagementService.apply`); a reward's points are earns in the same transaction;
- `tier_changes`: immediate upgrades after the event's earns (`TierService.after_activity`);
- `tier_distribution`: members per tier (what simulation reports for a candidate).

With `write=False` (a quote) nothing is written: engagement says what it would do, and the
tier changes are computed with the quoted event's activity added in memory.

`Extensions()` without services is the stand-in of a build without tiers and engagement:
the evaluation's own effects and no tiers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ..rules import Evaluation, Event, Ruleset
from ..storage import tier_repository
from ..tiers import Activity

if TYPE_CHECKING:  # the services import nothing of this module
    from .engagement import EngagementService
    from .tiers import TierService


class Extensions:
    def __init__(self, tiers: TierService | None = None, engagement: EngagementService | None = None) -> None:
        self.tiers = tiers
        self.engagement = engagement

    def member_tier(self, conn: Connection, program_id: str, member_id: str, at: datetime) -> str | None:
        if self.tiers is None:
            return None
        return self.tiers.member_tiers(conn, program_id, [member_id], at)[member_id]

    def engagement_effects(self, conn: Connection, program_id: str, member_id: str, event: Event,
                           evaluation: Evaluation, at: datetime, *, write: bool,
                           ruleset: Ruleset | None = None) -> dict[str, list[dict[str, Any]]]:
        """`coupons`, `badges`, `challenges`, and the completion rewards' `points` and
        `withheld` (the events service merges those two into its own)."""
        if self.engagement is None:
            return {
                "coupons": [{"rule_id": c.rule_id, "template": c.template} for c in evaluation.coupons],
                "badges": [{"rule_id": b.rule_id, "badge": b.badge} for b in evaluation.badges],
                "challenges": [{"rule_id": c.rule_id, "challenge": c.challenge, "amount": c.amount}
                               for c in evaluation.challenges],
                "points": [], "withheld": [],
            }
        effects = self.engagement.apply(conn, program_id, member_id, event, evaluation, at, ruleset, write=write)
        for award in effects["points"]:  # the shape of the events service's own points
            award.setdefault("to", "member")
            award.setdefault("log", [])
        return effects

    def tier_changes(self, conn: Connection, program_id: str, member_ids: list[str], at: datetime, *,
                     write: bool, quoted: list[Activity] | None = None,
                     quoted_for: list[str] | None = None) -> list[dict[str, Any]]:
        """With `write`, the upgrades the event's earns (already in the ledger) bring. A
        quote's earns are not in the ledger: `quoted[i]` is member `quoted_for[i]`'s
        activity the event would add."""
        if self.tiers is None:
            return []
        if write:
            return self.tiers.after_activity(conn, program_id, member_ids, at)
        extra: dict[str, list[Activity]] = {}
        for member, activity in zip(quoted_for or [], quoted or []):
            extra.setdefault(member, []).append(activity)
        return self.tiers.preview_activity(conn, program_id, member_ids, at, extra)

    def tier_distribution(self, conn: Connection, program_id: str, at: datetime) -> dict[str, int] | None:
        """Members per tier at `at` (the stored standings; members never upgraded are in the
        lowest tier); None while the program has no tiers."""
        if self.tiers is None:
            return None
        ladder = self.tiers.ladders(conn, program_id, at)
        if ladder is None:
            return None
        members = tier_repository.count_members(conn, program_id)
        counts = {tier.name: 0 for tier in ladder.tiers}
        stored = tier_repository.stored_tiers(conn, program_id)
        for name, number in stored.items():  # a tier a newer ladder removed counts as the lowest
            counts[ladder.tier(name).name] += number
        counts[ladder.lowest.name] += members - sum(stored.values())
        return counts
