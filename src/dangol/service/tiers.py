"""Tier use cases: immediate upgrades after ledger activity, the recalculation job, and
what a member sees. The policy is the pure `dangol.tiers`; this module loads a member's
standing and qualifying activity, advances it, and stores the standing and its history.

The ladder comes from `ladders(conn, program_id, at)`: the `tiers:` section of the ruleset
in force (the container wires it to the published rulesets). A ladder registered for this
process with `use_ladder` overrides it: the CLI's `--ruleset FILE`, to recalculate or show
under a ladder not published yet."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ..domain.clock import Clock, SystemClock, as_utc
from ..domain.errors import DomainError, InvalidRequest
from ..storage import tier_repository as repo
from ..storage.database import Database
from ..storage.ledger_repository import LedgerRepository
from ..tiers import Activity, Ladder, Reason, Standing, Tier, Transition, advance, progress
from ..tiers.policy import needed_from, set_manually
from .reads import Page, _check_member, _cursor, _limit
from .receipts import iso

LadderSource = Callable[[Connection, str, datetime], Ladder | None]
Step = Callable[[Ladder, Standing | None, Sequence[Activity], datetime], tuple[Standing, list[Transition]]]


@dataclass(frozen=True, slots=True)
class _Evaluated:
    old: Standing | None
    new: Standing
    transitions: list[Transition]
    activities: list[Activity]


class NoTierLadder(DomainError):
    code = "no-tier-ladder"
    title = "The program has no tier ladder"


@dataclass
class RecalculationReport:
    program_id: str
    at: datetime
    members: int = 0
    changes: int = 0
    by_reason: dict[str, int] = field(default_factory=lambda: {r.value: 0 for r in Reason if r is not Reason.MANUAL})
    resumed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"program_id": self.program_id, "at": iso(self.at), "members": self.members, "changes": self.changes,
                "upgrades": self.by_reason["upgrade"], "downgrades": self.by_reason["downgrade"],
                "grace": self.by_reason["grace"], "resumed": self.resumed}


class TierService:
    def __init__(self, db: Database, clock: Clock | None = None, ladders: LadderSource | None = None,
                 batch_size: int = 500) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.batch_size = batch_size
        self._registered: dict[str, Ladder] = {}
        self._published: LadderSource = ladders or (lambda conn, program_id, at: None)

    def ladders(self, conn: Connection, program_id: str, at: datetime) -> Ladder | None:
        """The ladder registered for this process, else the one of the ruleset in force."""
        return self._registered.get(program_id) or self._published(conn, program_id, at)

    def use_ladder(self, program_id: str, ladder: Ladder | None) -> None:
        """Registers (or, with None, removes) a program's ladder for this process."""
        if ladder is None:
            self._registered.pop(program_id, None)
        else:
            self._registered[program_id] = ladder

    # ---- inside other services' transactions

    def after_activity(self, conn: Connection, program_id: str, member_ids: Sequence[str],
                       at: datetime) -> list[dict[str, Any]]:
        """Upgrades (and any downgrade that fell due) of `member_ids` after ledger writes at
        `at`, in the caller's transaction. Returns the tier changes; [] without a ladder."""
        ladder = self.ladders(conn, program_id, at)
        if ladder is None or not member_ids:
            return []
        return self._advance(conn, ladder, program_id, list(dict.fromkeys(member_ids)), as_utc(at))

    def preview_activity(self, conn: Connection, program_id: str, member_ids: Sequence[str], at: datetime,
                         extra: dict[str, list[Activity]]) -> list[dict[str, Any]]:
        """`after_activity` for a quote: the changes `extra` activity (not in the ledger)
        would bring, written nowhere."""
        ladder = self.ladders(conn, program_id, at)
        if ladder is None or not member_ids:
            return []
        found = self._evaluate(conn, ladder, program_id, list(dict.fromkeys(member_ids)), as_utc(at), extra=extra)
        return [change_json(m, ladder, c) for m, f in found.items() for c in f.transitions]

    def member_tiers(self, conn: Connection, program_id: str, member_ids: Sequence[str],
                     at: datetime) -> dict[str, str | None]:
        """`MemberState.tier` for each member at `at`: one query for the stored standings
        (the ladder's lowest tier for a member never upgraded); a member whose window ended
        and whose review the job has not applied yet (rare: once a window) is evaluated, not
        written. None for every member when the program has no ladder."""
        ladder = self.ladders(conn, program_id, at)
        if ladder is None:
            return {m: None for m in member_ids}
        stored = repo.load_standings(conn, program_id, member_ids)
        due = [m for m, s in stored.items() if (s.grace_until or s.window.end) <= at]
        if due:
            stored.update({m: found.new for m, found in self._evaluate(conn, ladder, program_id, due, at).items()})
        return {m: ladder.tier(stored[m].tier if m in stored else None).name for m in member_ids}

    def _evaluate(self, conn: Connection, ladder: Ladder, program_id: str, member_ids: list[str],
                  at: datetime, step: Step = advance,
                  extra: dict[str, list[Activity]] | None = None) -> dict[str, _Evaluated]:
        """Each member's stored standing, the standing at `at` (by `step`), the transitions
        between, and the activity they were computed from (plus `extra`). Writes nothing."""
        standings = repo.load_standings(conn, program_id, member_ids)
        since = min(needed_from(ladder, standings.get(m), at) for m in member_ids)
        activities = repo.load_activities(conn, program_id, member_ids, since, at)
        for member_id, more in (extra or {}).items():
            if member_id in activities:
                activities[member_id] = [*activities[member_id], *more]
        found: dict[str, _Evaluated] = {}
        for m in member_ids:
            new, transitions = step(ladder, standings.get(m), activities[m], at)
            found[m] = _Evaluated(standings.get(m), new, transitions, activities[m])
        return found

    def _advance(self, conn: Connection, ladder: Ladder, program_id: str, member_ids: list[str],
                 at: datetime, step: Step = advance) -> list[dict[str, Any]]:
        now = self.clock.now()
        changes: list[dict[str, Any]] = []
        for member_id, found in self._evaluate(conn, ladder, program_id, member_ids, at, step).items():
            # A member never upgraded needs no row; otherwise only what a member would notice
            # is written, so a second run for the same instant writes nothing.
            if found.transitions or (found.old is not None and not found.new.same_as(found.old)):
                repo.save_standing(conn, program_id, member_id, found.new, exists=found.old is not None)
                repo.add_history(conn, program_id, member_id, found.transitions, now)
            changes += [change_json(member_id, ladder, c) for c in found.transitions]
        return changes

    # ---- the job

    def recalculate(self, program_id: str, at: datetime | None = None,
                    progress: Callable[[int, int], None] | None = None) -> RecalculationReport:
        """Every member of the program, as of `at`, in batches, each committed with the
        run's cursor: an interrupted run resumes after the last batch it finished (without
        `at`, an unfinished run is resumed at its instant; otherwise `at` is now); running
        again for the same instant changes nothing. `progress(done, total)`."""
        now = self.clock.now()
        if at is not None and as_utc(at) > now:
            raise InvalidRequest("tiers cannot be recalculated ahead of the clock")
        with self.db.write() as conn:
            LedgerRepository(conn).get_program(program_id)
            at = as_utc(at) if at is not None else (repo.unfinished_run(conn, program_id) or now)
            ladder = self.ladders(conn, program_id, at)
            if ladder is None:
                raise NoTierLadder(f"program {program_id} has no tier ladder (no tiers: section in its ruleset)")
            total = repo.count_members(conn, program_id)
            run = repo.run_state(conn, program_id, at)
            if run is None:
                repo.start_run(conn, program_id, at, now)
            report = RecalculationReport(program_id, at, resumed=run is not None and run.finished_at is None)
            after = run.after_member if report.resumed else None
            done = run.members if report.resumed else 0
            if run is not None and not report.resumed:
                repo.restart_run(conn, program_id, at, now)
        while True:
            with self.db.write() as conn:
                member_ids = repo.member_page(conn, program_id, after, self.batch_size)
                if not member_ids:
                    repo.finish_run(conn, program_id, at, self.clock.now())
                    break
                changes = self._advance(conn, ladder, program_id, member_ids, at)
                repo.advance_run(conn, program_id, at, member_ids[-1], len(member_ids), len(changes))
            report.members += len(member_ids)
            report.changes += len(changes)
            for change in changes:
                report.by_reason[change["reason"]] += 1
            after = member_ids[-1]
            done += len(member_ids)
            if progress:
                progress(done, total)
        return report

    def set_tier(self, program_id: str, member_id: str, tier: str) -> list[dict[str, Any]]:
        """An operator's change of a member's tier, now (history reason `manual`). The tier
        is then reviewed like one reached by an upgrade: at the current window's end."""
        at = self.clock.now()
        with self.db.write() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            ladder = self._ladder(conn, program_id, at)
            if tier not in [t.name for t in ladder.tiers]:
                raise InvalidRequest(f"the ladder has no tier {tier!r}; it has: "
                                     f"{', '.join(t.name for t in ladder.tiers)}")
            return self._advance(conn, ladder, program_id, [member_id], at,
                                 lambda ladder, old, log, at: set_manually(ladder, old, log, tier, at))

    # ---- reads

    def member_view(self, program_id: str, member_id: str, at: datetime | None = None) -> dict[str, Any]:
        """The member's tier and benefits, the metric so far in the current window, what
        remains to the next tier, and when the tier is reviewed. Writes nothing."""
        at = as_utc(at) if at else self.clock.now()
        with self.db.read() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            ladder = self._ladder(conn, program_id, at)
            found = self._evaluate(conn, ladder, program_id, [member_id], at)[member_id]
        standing = found.new
        view = progress(ladder, standing, found.activities, at)
        # If nothing more is spent: the end of the grace under way, or of the window and its grace.
        drops_at = view.grace_until
        if drops_at is None and ladder.rank(view.qualifies_for.name) < ladder.rank(view.tier.name):
            drops_at = view.review_at + timedelta(days=ladder.grace_days)
        return {
            "program_id": program_id, "member_id": member_id, "at": iso(at),
            "tier": tier_json(view.tier), "since": iso(standing.since) if found.old or found.transitions else None,
            "metric": {"name": ladder.metric.value, "value": view.metric},
            "window": {"kind": ladder.window.value, "start": iso(view.window.start), "end": iso(view.window.end)},
            "next_tier": None if view.next_tier is None else tier_json(view.next_tier),
            "remaining": view.remaining, "qualifies_for": view.qualifies_for.name,
            "review_at": iso(view.review_at), "grace_days": ladder.grace_days,
            "grace_until": iso(view.grace_until), "drops_at": iso(drops_at),
        }

    def history(self, program_id: str, member_id: str, *, cursor: str | None = None, limit: int = 20) -> Page:
        """Every change of the member's tier, newest first."""
        limit = _limit(limit)
        with self.db.read() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            rows = repo.history(conn, program_id, member_id, _cursor(cursor), limit + 1)
        items = [{"id": row.id, "from": row.from_tier, "to": row.to_tier, "reason": row.reason, "metric": row.metric,
                  "at": iso(row.at), "window": {"start": iso(row.window_start), "end": iso(row.window_end)},
                  "recorded_at": iso(row.recorded_at)} for row in rows[:limit]]
        return Page(items, str(rows[limit - 1].id) if len(rows) > limit else None)

    def _ladder(self, conn: Connection, program_id: str, at: datetime) -> Ladder:
        ladder = self.ladders(conn, program_id, at)
        if ladder is None:
            raise NoTierLadder(f"program {program_id} has no tier ladder (no tiers: section in its ruleset)")
        return ladder


def tier_json(tier: Tier) -> dict[str, Any]:
    b = tier.benefits
    bonus = b.earn_bonus
    return {"name": tier.name, "threshold": tier.threshold,
            "benefits": {"earn_bonus": None if bonus is None else {"points": bonus.points, "per": bonus.per},
                         "multiplier": b.multiplier, "perks": list(b.perks), "badge": b.badge}}


def change_json(member_id: str, ladder: Ladder, change: Transition) -> dict[str, Any]:
    return {"member_id": member_id, "from": change.from_tier, "to": change.to_tier, "reason": change.reason.value,
            "metric": {"name": ladder.metric.value, "value": change.metric}, "at": iso(change.at),
            "window": {"start": iso(change.window.start), "end": iso(change.window.end)}}
