"""Tier use cases: immediate upgrades after ledger activity, the recalculation job, and
what a member sees. The policy is the pure `dangol.tiers`; this module loads a member's
standing and qualifying activity, advances it, and stores the standing and its history.
`TierSession` does this for a whole transaction (a batch of events, a batch of the job) in
memory, reading once and writing once; the one-call methods of `TierService` are sessions
of one call.

The ladder comes from `ladders(conn, program_id, at)`: the `tiers:` section of the ruleset
in force (the container wires it to the published rulesets). A ladder registered for this
process with `use_ladder` overrides it: the CLI's `--ruleset FILE`, to recalculate or show
under a ladder not published yet."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ..domain.clock import Clock, SystemClock, as_utc
from ..domain.errors import DomainError, InvalidRequest
from ..storage import tier_repository as repo
from ..storage.database import Database
from ..storage.ledger_repository import LedgerRepository
from ..tiers import Activity, Ladder, Reason, Standing, Tier, Transition, WindowKind, advance, progress
from ..tiers.policy import TICK, needed_from, set_manually
from .notifications import outbox
from .reads import Page, _check_member, _cursor, _limit
from .receipts import iso

LadderSource = Callable[[Connection, str, datetime], Ladder | None]
Step = Callable[[Ladder, Standing | None, Sequence[Activity], datetime], tuple[Standing, list[Transition]]]


@dataclass(frozen=True, slots=True)
class Evaluated:
    """A member's standing before (`old`, as stored or as the session will store it) and
    after an evaluation, the transitions between, and the activity it counted."""

    old: Standing | None
    new: Standing
    transitions: list[Transition]
    activities: list[Activity]


@dataclass(slots=True)
class _Member:
    """What a session holds of one member."""

    standing: Standing | None = None  # as stored, or as this session's flush will store it
    known: bool = False  # `standing` has been read from the database
    stored: bool = False  # the database has a row: the flush updates rather than inserts
    activity: list[Activity] = field(default_factory=list)  # read from the database, and noted
    loaded: tuple[datetime, datetime] | None = None  # the database's activity in [start, end] is read


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
        return self.registered(program_id) or self._published(conn, program_id, at)

    def registered(self, program_id: str) -> Ladder | None:
        """The ladder `use_ladder` registered for the program, if any."""
        return self._registered.get(program_id)

    def use_ladder(self, program_id: str, ladder: Ladder | None) -> None:
        """Registers (or, with None, removes) a program's ladder for this process."""
        if ladder is None:
            self._registered.pop(program_id, None)
        else:
            self._registered[program_id] = ladder

    # ---- inside other services' transactions: one-call forms of `TierSession`

    def after_activity(self, conn: Connection, program_id: str, member_ids: Sequence[str],
                       at: datetime) -> list[dict[str, Any]]:
        """Upgrades (and any downgrade that fell due) of `member_ids` after ledger writes at
        `at`, in the caller's transaction. Returns the tier changes; [] without a ladder."""
        ladder = self.ladders(conn, program_id, at)
        if ladder is None or not member_ids:
            return []
        return self._write(conn, ladder, program_id, member_ids, at)

    def preview_activity(self, conn: Connection, program_id: str, member_ids: Sequence[str], at: datetime,
                         extra: dict[str, list[Activity]]) -> list[dict[str, Any]]:
        """`after_activity` for a quote: the changes `extra` activity (not in the ledger)
        would bring, written nowhere."""
        ladder = self.ladders(conn, program_id, at)
        if ladder is None or not member_ids:
            return []
        return TierSession(self, conn, program_id, write=False).advance(ladder, member_ids, at, extra)

    def member_tiers(self, conn: Connection, program_id: str, member_ids: Sequence[str],
                     at: datetime) -> dict[str, str | None]:
        """`MemberState.tier` for each member at `at` (`TierSession.tiers`). None for every
        member when the program has no ladder."""
        ladder = self.ladders(conn, program_id, at)
        if ladder is None:
            return {m: None for m in member_ids}
        session = TierSession(self, conn, program_id, write=False)
        return {m: tier for m, tier in session.tiers(ladder, member_ids, at).items()}

    def _write(self, conn: Connection, ladder: Ladder, program_id: str, member_ids: Sequence[str],
               at: datetime, step: Step | None = None) -> list[dict[str, Any]]:
        session = TierSession(self, conn, program_id, write=True)
        changes = session.advance(ladder, member_ids, at, step=step)
        session.flush()
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
                changes = self._write(conn, ladder, program_id, member_ids, at)
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
            return self._write(conn, ladder, program_id, [member_id], at,
                               lambda ladder, old, log, at: set_manually(ladder, old, log, tier, at))

    # ---- reads

    def member_view(self, program_id: str, member_id: str, at: datetime | None = None) -> dict[str, Any]:
        """The member's tier and benefits, the metric so far in the current window, what
        remains to the next tier, and when the tier is reviewed. Writes nothing."""
        at = as_utc(at) if at else self.clock.now()
        with self.db.read() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            ladder = self._ladder(conn, program_id, at)
            found = TierSession(self, conn, program_id, write=False).evaluate(ladder, [member_id], at)[member_id]
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


class TierSession:
    """One transaction's view of its members' tier standings and qualifying activity: read
    once (`preload`, or on first use), then evaluated in memory, the changes kept until
    `flush` writes them together. Activity this transaction made and has not written yet
    is `note`d. Every call sees what it would see if each earlier call's writes and each
    noted activity were in the database: the standing as stored (an evaluation that
    changes nothing a member would notice is not kept, as it would not be written), and
    the activity from what the policy needs (`needed_from`) through the call's instant,
    whatever the order of the calls' instants.

    The session must not outlive its transaction, nor see activity twice: nothing it
    notes may be in the database when it reads a member's activity."""

    def __init__(self, service: TierService, conn: Connection, program_id: str, *, write: bool) -> None:
        self.service = service
        self.conn = conn
        self.program_id = program_id
        self.write = write
        self._members: dict[str, _Member] = {}
        self._changed: dict[str, Standing] = {}  # the standings the flush writes, in order
        self._history: list[tuple[str, Transition, datetime]] = []

    def ladder(self, at: datetime, published: Ladder | None) -> Ladder | None:
        """The ladder registered for this process (`TierService.use_ladder`), else
        `published` (the ruleset in force at `at`, which the caller holds)."""
        return self.service.registered(self.program_id) or published

    def preload(self, ladder: Ladder, member_ids: Collection[str], earliest: datetime, latest: datetime) -> None:
        """Reads the members' standings and their activity for any call at an instant in
        [earliest, latest] (one query each, per 2,000 members). Members read before are
        left as they are; later calls outside the span read what they lack."""
        ids = list(dict.fromkeys(member_ids))
        self._know(ids)
        # A member's `needed_from` only moves forward with the instant (and does not depend
        # on it once the member has a standing): the bound at `earliest` covers the span.
        self._load(ladder, [m for m in ids if self._members[m].loaded is None], as_utc(earliest), as_utc(latest))

    def tier_of(self, ladder: Ladder, member_id: str, at: datetime) -> str:
        """The member's tier at `at` for the rules (`tiers`). Once per event: one member
        without the lists and dicts of `tiers`."""
        at = as_utc(at)
        member = self._members.get(member_id)
        if member is None or not member.known:
            self._know([member_id])
            member = self._members[member_id]
        standing = member.standing
        if _due(ladder, standing, at):
            standing = self.evaluate(ladder, [member_id], at)[member_id].new
        return ladder.tier(standing.tier if standing is not None else None).name

    def tiers(self, ladder: Ladder, member_ids: Sequence[str], at: datetime) -> dict[str, str]:
        """Each member's tier at `at`: the standing's (the ladder's lowest for a member never
        upgraded); a member whose window ended and whose review is not applied yet (rare:
        once a window) is evaluated, and that evaluation is not kept. On a rolling ladder
        every member is evaluated (reading their activity): a refund leaving the last N days
        raises the metric, and may upgrade, at an instant no activity marks."""
        at = as_utc(at)
        ids = list(dict.fromkeys(member_ids))
        self._know(ids)
        standings = {m: self._members[m].standing for m in ids}
        due = [m for m, s in standings.items() if _due(ladder, s, at)]
        if due:
            standings.update({m: found.new for m, found in self.evaluate(ladder, due, at).items()})
        return {m: ladder.tier(s.tier if s is not None else None).name for m, s in standings.items()}

    def note(self, member_id: str, activity: Activity) -> None:
        """Activity of this transaction that is not in the database (and will not be while
        the session reads): counted by later calls at or after `activity.at`."""
        self._member(member_id).activity.append(activity)

    def advance(self, ladder: Ladder, member_ids: Sequence[str], at: datetime,
                extra: dict[str, list[Activity]] | None = None, *, step: Step | None = None) -> list[dict[str, Any]]:
        """The members' tier changes at `at` (`change_json`). With `write`, each member's new
        standing and history are kept for `flush` (and seen by later calls) when a member
        would notice the change. `extra` is a quote's activity (only without `write`): the
        changes it would bring, kept nowhere. `step` is the policy (an operator's `set_manually`)."""
        if extra and self.write:
            raise ValueError("extra activity is a quote's: it cannot be kept as if recorded")
        now = self.service.clock.now()
        changes: list[dict[str, Any]] = []
        for member_id, found in self.evaluate(ladder, member_ids, at, extra, step).items():
            # A member never upgraded needs no row; otherwise only what a member would notice
            # is written, so a second run for the same instant writes nothing.
            if self.write and (found.transitions or (found.old is not None and not found.new.same_as(found.old))):
                self._members[member_id].standing = self._changed[member_id] = found.new
                self._history += [(member_id, change, now) for change in found.transitions]
            changes += [change_json(member_id, ladder, change) for change in found.transitions]
        return changes

    def evaluate(self, ladder: Ladder, member_ids: Sequence[str], at: datetime,
                 extra: dict[str, list[Activity]] | None = None, step: Step | None = None) -> dict[str, Evaluated]:
        """Each member's standing at `at` by `step`, from the activity in [needed_from, at]
        (plus `extra`). Keeps nothing."""
        at, step = as_utc(at), step or advance
        ids = list(dict.fromkeys(member_ids))
        self._know(ids)
        needs = self._cover(ladder, ids, at)
        found: dict[str, Evaluated] = {}
        for member_id in ids:
            member = self._members[member_id]
            need = needs[member_id]
            activity = [a for a in member.activity if need <= a.at <= at]
            if extra and member_id in extra:
                activity += extra[member_id]
            new, transitions = step(ladder, member.standing, activity, at)
            found[member_id] = Evaluated(member.standing, new, transitions, activity)
        return found

    def flush(self) -> None:
        """Writes the standings changed since the last flush (inserted or updated) and their
        history, one statement each."""
        if not self._changed:
            return
        stored = {m for m in self._changed if self._members[m].stored}
        repo.save_standings(self.conn, self.program_id,
                            [(m, s) for m, s in self._changed.items() if m not in stored],
                            [(m, s) for m, s in self._changed.items() if m in stored])
        repo.add_history(self.conn, self.program_id, self._history)
        outbox.write(self.conn, [outbox.tier_notice(self.program_id, member_id, c.from_tier, c.to_tier, c.reason.value,
                                                    c.at) for member_id, c, _ in self._history])
        for member_id in self._changed:
            self._members[member_id].stored = True
        self._changed.clear()
        self._history = []

    def _member(self, member_id: str) -> _Member:
        member = self._members.get(member_id)
        if member is None:
            member = self._members[member_id] = _Member()
        return member

    def _know(self, member_ids: list[str]) -> None:
        """Reads the standings of the members not read yet (one query)."""
        members = self._members
        unknown = [m for m in member_ids if m not in members or not members[m].known]
        if not unknown:
            return
        for member_id in unknown:
            self._member(member_id)
        stored = repo.load_standings(self.conn, self.program_id, unknown)
        for member_id in unknown:
            member = self._members[member_id]
            member.known, member.standing, member.stored = True, stored.get(member_id), member_id in stored

    def _load(self, ladder: Ladder, member_ids: list[str], at: datetime, until: datetime) -> None:
        """Reads the activity of members with none read yet, for calls from `at` through
        `until` (one query)."""
        if not member_ids:
            return
        needs = {m: needed_from(ladder, self._members[m].standing, at) for m in member_ids}
        read = repo.load_activities(self.conn, self.program_id, member_ids, min(needs.values()), until)
        for member_id, activity in read.items():
            member, need = self._members[member_id], needs[member_id]
            member.activity += [a for a in activity if a.at >= need]
            member.loaded = (need, until)

    def _cover(self, ladder: Ladder, member_ids: list[str], at: datetime) -> dict[str, datetime]:
        """Reads what the members' activity lacks for an evaluation at `at`; returns where
        each member's evaluation needs it from."""
        fresh: list[str] = []
        gaps: dict[tuple[datetime, datetime], list[str]] = {}
        needs: dict[str, datetime] = {}
        for member_id in member_ids:
            member = self._members[member_id]
            need = needs[member_id] = needed_from(ladder, member.standing, at)
            if member.loaded is None:
                fresh.append(member_id)
                continue
            start, end = member.loaded
            if need < start:  # an earlier instant than any before, or a standing that looks further back
                gaps.setdefault((need, start - TICK), []).append(member_id)
            if at > end:
                gaps.setdefault((end + TICK, at), []).append(member_id)
            member.loaded = (min(start, need), max(end, at))
        self._load(ladder, fresh, at, at)
        for (since, until), members in gaps.items():
            for member_id, activity in repo.load_activities(self.conn, self.program_id, members, since, until).items():
                self._members[member_id].activity += activity
        return needs


def _due(ladder: Ladder, standing: Standing | None, at: datetime) -> bool:
    """Whether a member's tier at `at` needs an evaluation rather than the standing's tier:
    on a rolling ladder always (a refund leaving the last N days may upgrade at an instant
    no activity marks); otherwise only once the window under review (or the grace) ended."""
    return ladder.window is WindowKind.ROLLING or (
        standing is not None and (standing.grace_until or standing.window.end) <= at)


def tier_json(tier: Tier) -> dict[str, Any]:
    b = tier.benefits
    bonus = b.earn_bonus
    return {"name": tier.name, "threshold": tier.threshold,
            "benefits": {"earn_bonus": None if bonus is None else {"points": bonus.points, "per": bonus.per},
                         "multiplier": b.multiplier, "perks": list(b.perks), "badge": b.badge,
                         "gifting": b.gifting}}


def change_json(member_id: str, ladder: Ladder, change: Transition) -> dict[str, Any]:
    return {"member_id": member_id, "from": change.from_tier, "to": change.to_tier, "reason": change.reason.value,
            "metric": {"name": ladder.metric.value, "value": change.metric}, "at": iso(change.at),
            "window": {"start": iso(change.window.start), "end": iso(change.window.end)}}
