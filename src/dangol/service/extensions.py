"""Where the events service hands over to tiers and engagement.
`Extensions.open` gives one transaction's `ExtensionSession`, whose state is loaded once
for the batch's members and written at its end:

- `member_tier`: the member's tier for the rules (`MemberState.tier`);
- `engagement_effects`: coupons, badges, challenge progress and completion rewards
  (`EngagementSession`); a reward's points are earns in the same ledger session;
- `tier_changes`: immediate upgrades after the event's earns (`TierSession.advance`), which
  count the activity the ledger session made (`note_activity`) before it is written;
- `tier_distribution`: members per tier (what simulation reports for a candidate).

With `write=False` (a quote) nothing is written: engagement says what it would do, and the
tier changes are computed with the quoted event's activity added in memory.

`Extensions()` without services is the stand-in of a build without tiers and engagement:
the evaluation's own effects and no tiers."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..engagement import Occurrence
from ..rules import Evaluation, Ruleset
from ..storage import tier_repository
from ..tiers import Activity
from .engagement import EngagementService, EngagementSession
from .ledger import Operation
from .tiers import TierService, TierSession


class Extensions:
    def __init__(self, tiers: TierService | None = None, engagement: EngagementService | None = None) -> None:
        self.tiers = tiers
        self.engagement = engagement

    def open(self, conn: Connection, program_id: str, *, write: bool,
             earn: Callable[[Operation], dict[str, Any]]) -> ExtensionSession:
        """The hooks of one transaction of the events service. `earn` applies a challenge
        reward's earn in that transaction's ledger session."""
        return ExtensionSession(
            None if self.tiers is None else TierSession(self.tiers, conn, program_id, write=write),
            None if self.engagement is None else EngagementSession(self.engagement, conn, program_id, write=write,
                                                                   earn=earn))

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


class ExtensionSession:
    """Tiers and engagement for one transaction of the events service: their state loaded
    once for its members (`preload`), kept in memory while its events are judged, written
    at `flush`."""

    def __init__(self, tiers: TierSession | None, engagement: EngagementSession | None) -> None:
        self.tiers = tiers
        self.engagement = engagement

    def preload(self, member_ids: Collection[str], rulesets: Sequence[Ruleset], earliest: datetime,
                latest: datetime) -> None:
        for ruleset in rulesets:
            if self.tiers is not None and (ladder := self.tiers.ladder(latest, ruleset.tiers)) is not None:
                self.tiers.preload(ladder, member_ids, earliest, latest)
            if self.engagement is not None:
                self.engagement.preload(member_ids, ruleset)

    def member_tier(self, member_id: str, at: datetime, ruleset: Ruleset) -> str | None:
        """`MemberState.tier`: the member's tier at `at`; None without a ladder."""
        if self.tiers is None or (ladder := self.tiers.ladder(at, ruleset.tiers)) is None:
            return None
        return self.tiers.tier_of(ladder, member_id, at)

    def note_activity(self, member_id: str, activity: Activity) -> None:
        """An earn or reversal the ledger session made (not in the database yet)."""
        if self.tiers is not None:
            self.tiers.note(member_id, activity)

    def engagement_effects(self, member_id: str, event: Occurrence, evaluation: Evaluation, at: datetime,
                           ruleset: Ruleset) -> dict[str, list[dict[str, Any]]]:
        """`coupons`, `badges`, `challenges`, and the completion rewards' `points` and
        `withheld` (the events service merges those two into its own). `event` carries the
        items with their amounts: what a category challenge counts."""
        if self.engagement is None:
            return {
                "coupons": [{"rule_id": c.rule_id, "template": c.template} for c in evaluation.coupons],
                "badges": [{"rule_id": b.rule_id, "badge": b.badge} for b in evaluation.badges],
                "challenges": [{"rule_id": c.rule_id, "challenge": c.challenge, "amount": c.amount}
                               for c in evaluation.challenges],
                "points": [], "withheld": [],
            }
        effects = self.engagement.apply(member_id, event, evaluation, at, ruleset)
        for award in effects["points"]:  # the shape of the events service's own points
            award.setdefault("to", "member")
            award.setdefault("log", [])
        return effects

    def tier_changes(self, member_ids: Sequence[str], at: datetime, ruleset: Ruleset,
                     quoted: dict[str, list[Activity]] | None = None) -> list[dict[str, Any]]:
        """The upgrades (and any downgrade that fell due) the event's activity brings. A
        quote's activity is not in the ledger session: `quoted` is what it would add."""
        if self.tiers is None or (ladder := self.tiers.ladder(at, ruleset.tiers)) is None:
            return []
        return self.tiers.advance(ladder, member_ids, at, quoted)

    def flush(self) -> None:
        if self.tiers is not None:
            self.tiers.flush()
        if self.engagement is not None:
            self.engagement.flush()

    def close(self) -> None:
        """Done with: the sessions let go (the engagement session's `earn` is the caller's)."""
        self.tiers = self.engagement = None
