"""`replay --check`: the ledger follows from what was recorded and the published rules.

The program's ledger is made again from nothing, on a scratch SQLite database that holds
only the program, its published rulesets, its members (ids and enrolment times, all active)
and referral codes, then compared with the program's (`ledger_comparison`). Every recorded
event is judged again, in the order it was recorded, by the ruleset that was in force at its
time: the recomputed effects must equal the recorded answer, and every earn transaction in
the ledger that names a rule must be one that an event produced, with the recomputed member,
points, rule and ruleset. Every other transaction is accounted for by what made it
(`ledger_accounting`: a request, a coupon's redemption, a closure, an expiry run), which is
made again in its place among the events. The first difference is named.

What else was recorded between the events that judging them reads is replayed with them,
each change before the first event recorded after it (`Change`): the tiers job's runs
(a downgrade the job applied is then not found again by the next purchase, whose
`tier_changes` would otherwise differ from the recorded answer), every version of the
members' profiles (a time zone changed later does not move an earlier purchase to another
month) and every change of a member's status (a reward withheld from a referrer closed then
stays withheld). The events between two changes are judged in batches (`record_many`: the
results of sending them one by one)."""

from __future__ import annotations

import dataclasses
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from ..domain import FixedClock
from ..domain.clock import as_utc
from ..domain.commands import SetMemberStatus
from ..domain.errors import DomainError
from ..storage import tables as t
from ..storage.events_repository import EventsRepository, RecordedEvent
from ..storage.facts_repository import FactsRepository, ProfileVersion
from ..storage.fraud_repository import FraudRepository
from ..storage.ledger_history import LedgerHistory, read_ledger_history
from ..storage.ledger_repository import LedgerRepository, StatusChange
from .container import Services
from .engagement import new_coupon_code
from .events import EventInput
from .ledger import CLOCK_SKEW
from .ledger_accounting import (FIRST, LedgerStep, ReviewSettlement, StatusPlace, account, imported_transfers,
                                refund_request_times)
from .ledger_comparison import compare_ledgers

# The tables copied into the scratch database: what the judgement of events reads and no
# event writes. Referral relations are not copied: the referral events make them again; nor
# are profiles: their history is replayed (`recorded_changes`).
_COPIED = (t.referral_codes,)
BATCH = 1_000  # events judged again in one scratch transaction


@dataclass
class ReplayReport:
    program_id: str
    events: int = 0
    transactions: int = 0  # the ledger's, every one accounted for when the report is ok
    differences: list[str] = field(default_factory=list)
    causes: Counter[str] = field(default_factory=Counter)  # the ledger's transactions by what made them
    named: set[int] = field(default_factory=set)  # the transactions the differences name

    @property
    def ok(self) -> bool:
        return not self.differences


def effects_of(result: dict[str, Any]) -> dict[str, Any]:
    """What a judgement decided, without what depends on the ledger it ran on (ids, balances)."""
    reversal = result.get("reversal")
    refund = None
    if reversal is not None:
        receipt = reversal.get("refund_receipt", {}).get("refund", {})
        refund = (reversal["refund"], receipt.get("clawed_back", 0) + receipt.get("uncollected", 0))
    effects = result["effects"]
    return {"ruleset": result["ruleset"], "member_id": result["member_id"],
            "points": [(p["rule_id"], p["member_id"], p["points"]) for p in effects["points"]],
            "coupons": [{**c, "code": None} for c in effects["coupons"]], "badges": effects["badges"],
            "challenges": [_comparable(c) for c in effects["challenges"]], "withheld": result["withheld"],
            "tier_changes": effects.get("tier_changes", []), "refund": refund}


def _comparable(challenge: dict[str, Any]) -> dict[str, Any]:
    """A challenge's effect as replay compares it: all but a coupon's code, drawn at random
    when it is issued, and the progress a completing streak shows, which says no more than
    `completed` does (the run's length; answers recorded by earlier versions showed 0)."""
    comparable = challenge
    if challenge.get("period") == "streak" and challenge.get("completed"):
        comparable = {**comparable, "progress": None}
    rewards = challenge.get("rewards")
    if rewards and rewards.get("coupon") is not None:
        comparable = {**comparable, "rewards": {**rewards, "coupon": "(issued)"}}
    return comparable


@dataclass(frozen=True)
class Change:
    """Something recorded between events that judging them reads, replayed on the scratch
    database before the first event recorded after it: at a later time, or at the same
    instant in a later `position` (a ledger transaction's id; a change made at the very
    instant of an event is taken as made before it, unless placed otherwise). `replay`
    makes it, and answers what refused it, if anything."""

    recorded_at: datetime
    replay: Callable[[Services, str], str | None]
    position: float = FIRST

    @property
    def place(self) -> tuple[datetime, float]:
        return self.recorded_at, self.position


def recorded_changes(conn: Connection, program_id: str,
                     placed: Mapping[StatusChange, StatusPlace] | None = None) -> list[Change]:
    """What was recorded between the program's events that judging them reads, as replayable
    changes: the tiers job's finished runs, the members' profile versions and status changes.
    `placed` says where each status change is made again, with what reason (replay's
    accounting of the ledger: a closure by the transactions it wrote)."""
    r = t.tier_recalculations
    runs = [Change(row.started_at, _tiers_job_replay(row.started_at, row.at)) for row in conn.execute(
        select(r.c.started_at, r.c.at).where(r.c.program_id == program_id, r.c.finished_at.isnot(None))
        .order_by(r.c.started_at, r.c.at))]
    versions = [Change(v.recorded_at, _profile_replay(v)) for v in FactsRepository(conn).profile_history(program_id)]
    statuses = []
    for change in LedgerRepository(conn).status_history(program_id):
        place = (placed or {}).get(change, StatusPlace(change.recorded_at, FIRST))
        statuses.append(Change(place.recorded_at, _status_replay(change, place.reason), place.position))
    return runs + versions + statuses


def _profile_replay(version: ProfileVersion) -> Callable[[Services, str], str | None]:
    def replay(scratch: Services, program_id: str) -> str | None:
        with scratch.db.write() as conn:
            FactsRepository(conn).save_profile(program_id, version.profile, version.recorded_at)
        return None
    return replay


def _status_replay(change: StatusChange, reason: str | None = None) -> Callable[[Services, str], str | None]:
    def replay(scratch: Services, program_id: str) -> str | None:
        assert isinstance(scratch.clock, FixedClock)
        scratch.clock.set(change.recorded_at)
        try:  # through the ledger, as it was made: closing forfeits what the member held then
            scratch.ledger.run(program_id, SetMemberStatus(change.member_id, change.status, reason),
                               at=change.occurred_at)
        except DomainError as error:
            return (f"member {change.member_id} becoming {change.status} at {change.recorded_at.isoformat()}: "
                    f"replaying it is refused: {error.detail}")
        return None
    return replay


def _tiers_job_replay(started_at: datetime, at: datetime) -> Callable[[Services, str], str | None]:
    def replay(scratch: Services, program_id: str) -> str | None:
        assert isinstance(scratch.clock, FixedClock)
        scratch.clock.set(started_at)
        try:
            scratch.tiers.recalculate(program_id, at)
        except DomainError as error:
            return f"the tiers job of {at.isoformat()}: replaying it is refused: {error.detail}"
        return None
    return replay


def judged_in_order(scratch: Services, program_id: str, events: Sequence[RecordedEvent],
                    changes: Sequence[Change], refused: Callable[[str], None],
                    positions: Sequence[float] | None = None, *, to_the_end: bool = False,
                    ) -> Iterator[tuple[RecordedEvent, dict[str, Any] | DomainError]]:
    """Each event with its judgement again, the changes replayed between them in the order
    they were recorded (`refused` told of any that cannot be). `positions` places each
    event among what was recorded at its instant (default: after the changes of that
    instant); `to_the_end` replays the changes recorded after the last event too, once it
    is judged. The events between two changes are judged in batches; a batch is judged
    when its first event is asked for."""
    pending = deque(sorted(changes, key=lambda change: change.place))  # stable: ties keep their order
    places = [(event.recorded_at, FIRST if positions is None else positions[index])
              for index, event in enumerate(events)]
    start = 0
    while start < len(events):
        while pending and pending[0].place <= places[start]:
            problem = pending.popleft().replay(scratch, program_id)
            if problem is not None:
                refused(problem)
        end = batch_end(events, start, pending[0].place if pending else None, places)
        yield from zip(events[start:end], judge_again(scratch, program_id, events[start:end]))
        start = end
    while to_the_end and pending:
        problem = pending.popleft().replay(scratch, program_id)
        if problem is not None:
            refused(problem)


def _naming(step: LedgerStep, named: set[int]) -> Callable[[Services, str], str | None]:
    """The step's replay; when it is refused, the transaction it makes is named."""
    def replay(scratch: Services, program_id: str) -> str | None:
        problem = step.replay(scratch, program_id)
        if problem is not None and step.transaction is not None:
            named.add(step.transaction)
        return problem
    return replay


class RecordedCodes:
    """The scratch ledger's coupon codes: the recorded ones, in the order the events issued
    them, so that a coupon judged again has its recorded code and its redemption can be
    made again under it (then new ones, should the replay issue more)."""

    def __init__(self, codes: Sequence[str]) -> None:
        self.codes = deque(codes)

    def __call__(self) -> str:
        return self.codes.popleft() if self.codes else new_coupon_code()


class ReplayCheck:
    def __init__(self, services: Services) -> None:
        self.services = services

    def run(self, program_id: str, progress: Callable[[int, int], None] | None = None,
            max_differences: int = 20) -> ReplayReport:
        report = ReplayReport(program_id)
        with self.services.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            events = list(EventsRepository(conn).in_order(program_id))
            ledger = read_ledger_history(conn, program_id)
            accounting = account(ledger, events, LedgerRepository(conn).status_history(program_id),
                                 imported_transfers(conn, program_id), refund_request_times(conn, program_id),
                                 [ReviewSettlement(*row) for row in FraudRepository(conn).settlements(program_id)])
            changes = recorded_changes(conn, program_id, accounting.statuses)
        changes += [Change(step.recorded_at, _naming(step, report.named), step.position) for step in accounting.steps]
        # Earns that name a rule, which only an event makes (a coupon's redemption names its template).
        rule_earns = {txn.id: txn for txn in ledger.transactions
                      if any(not rule.startswith("coupon:") for rule, _, _ in txn.earned_by_rule())}
        replayed: LedgerHistory | None = None
        with tempfile.TemporaryDirectory(prefix="dangol-replay-") as scratch_dir:
            scratch = scratch_services(self.services, Path(scratch_dir), program_id)
            scratch.engagement.codes = RecordedCodes(accounting.codes)
            try:
                produced, complete = self._replay(scratch, program_id, events, changes, accounting.event_positions,
                                                  rule_earns, report, progress, max_differences)
                if complete:
                    with scratch.db.read() as conn:
                        replayed = read_ledger_history(conn, program_id)
            finally:
                scratch.db.dispose()
        named = report.named
        for txn_id in sorted(set(rule_earns) - produced):
            row = rule_earns[txn_id]
            named.add(txn_id)
            rules = sorted({rule for rule, _, _ in row.earned_by_rule()})
            report.differences.append(f"transaction {txn_id} ({row.points} points to {row.member_id}) names rule"
                                      f"{'s' if len(rules) > 1 else ''} {', '.join(map(repr, rules))} but no "
                                      "recorded event produced it")
        for txn_id, difference in accounting.unaccounted:
            named.add(txn_id)
            report.differences.append(difference)
        if replayed is not None:
            report.differences += [difference for place, difference in compare_ledgers(
                ledger, replayed, accounting.holds, accounting.events_of) if place not in named]
        del report.differences[max_differences:]
        report.transactions = len(ledger.transactions)
        report.causes = accounting.by_cause()
        return report

    def _replay(self, scratch: Services, program_id: str, events: list[RecordedEvent], changes: Sequence[Change],
                positions: Sequence[float], rule_earns: dict[int, Any], report: ReplayReport,
                progress: Callable[[int, int], None] | None, max_differences: int) -> tuple[set[int], bool]:
        """What the events produced of the ledger's rule earns, and whether everything
        recorded was replayed (not when it stopped at `max_differences`)."""
        produced: set[int] = set()
        judged = judged_in_order(scratch, program_id, events, changes, report.differences.append, positions,
                                 to_the_end=True)
        for done, (recorded, again) in enumerate(judged, start=1):
            if len(report.differences) >= max_differences:
                return produced, False
            report.events += 1
            self._compare(recorded, again, rule_earns, report, produced)
            if progress is not None:
                progress(done, len(events))
        return produced, len(report.differences) < max_differences

    @staticmethod
    def _compare(recorded: RecordedEvent, again: dict[str, Any] | DomainError, rule_earns: dict[int, Any],
                 report: ReplayReport, produced: set[int]) -> None:
        """The event's judgement again against its recorded answer and the ledger's earns."""
        where = f"event {recorded.event_id!r} (#{recorded.seq}, {recorded.type})"
        if isinstance(again, DomainError):
            report.differences.append(f"{where}: was recorded, but replaying it is refused: {again.detail}")
            return
        before, after = effects_of(recorded.result), effects_of(again)
        if before != after:
            changed = next(key for key in before if before[key] != after.get(key))
            report.differences.append(f"{where}: recorded {changed} {before[changed]!r}, the rules give "
                                      f"{after[changed]!r}")
            return
        for award in recorded.result["effects"]["points"]:
            txn_id: int | None = (award.get("transaction") or {}).get("id")  # None: the award recorded none
            row = rule_earns.get(txn_id) if txn_id is not None else None
            if row is None:
                report.differences.append(f"{where}: its transaction {txn_id} ({award['rule_id']}) is "
                                          "not in the ledger")
                return
            produced.add(row.id)
            # The award is one of the rules the earn pays (postings name their rules; an earn
            # written before they did names its one rule).
            paid = (award["rule_id"], award["member_id"], award["points"])
            ruleset = recorded.result["ruleset"]
            if row.kind != "earn" or row.ruleset_hash != ruleset or paid not in row.earned_by_rule():
                report.named.add(row.id)
                report.differences.append(
                    f"{where}: ledger transaction {row.id} is {_describe(row.kind, row.earned_by_rule(), row.ruleset_hash)}"
                    f"; the rules give {_describe('earn', [paid], ruleset)}")
                return


def batch_end(events: Sequence[RecordedEvent], start: int, before: tuple[datetime, float] | None = None,
              places: Sequence[tuple[datetime, float]] | None = None) -> int:
    """Where the batch of events judged again from `start` ends: after at most BATCH
    events, before the first recorded at or after `before` (the place of a change, such as a
    tiers job's start, which runs between them; `places`: each event's, by default its
    recording time, first at its instant). An event that says it happened after it was
    recorded goes alone: judged at its own recording time, it is refused as the future, as
    it would be sent on its own."""
    if _ahead(events[start]):
        return start + 1

    def place(index: int) -> tuple[datetime, float]:
        return places[index] if places is not None else (events[index].recorded_at, FIRST)

    end = start + 1
    while end < len(events) and end - start < BATCH and not _ahead(events[end]) and \
            (before is None or place(end) < before):
        end += 1
    return end


def judge_again(scratch: Services, program_id: str, batch: Sequence[RecordedEvent],
                ) -> list[dict[str, Any] | DomainError]:
    """The events judged again in one transaction of the scratch ledger, each at the time
    it happened. The clock is the batch's latest recording time: judging reads the clock
    only to refuse events from the future (which `batch_end` keeps alone) and to stamp
    what is written (which no comparison reads)."""
    assert isinstance(scratch.clock, FixedClock)
    scratch.clock.set(max(recorded.recorded_at for recorded in batch))
    return scratch.events.record_many(program_id, [
        dataclasses.replace(EventInput.from_json(recorded.body), occurred_at=recorded.occurred_at)
        for recorded in batch])


def _ahead(recorded: RecordedEvent) -> bool:
    return as_utc(recorded.occurred_at) > as_utc(recorded.recorded_at) + CLOCK_SKEW


def scratch_services(services: Services, directory: Path, program_id: str,
                     rulesets_before: datetime | None = None) -> Services:
    """Services on a new SQLite database in `directory` holding the program, its published
    rulesets (only those effective before `rulesets_before`, if given), its members (enrolled,
    active, with nothing, no profile) and referral codes: what judging events reads, but for
    what `recorded_changes` replays."""
    scratch = Services.open(f"sqlite:///{directory / 'scratch.db'}", FixedClock())
    with services.db.read() as source, scratch.db.write() as target:
        _copy(source, target, t.programs, t.programs.c.id == program_id)
        _copy(source, target, t.rule_policies, t.rule_policies.c.program_id == program_id)
        condition = t.rulesets.c.program_id == program_id
        if rulesets_before is not None:
            condition = condition & (t.rulesets.c.effective_from < rulesets_before)
        _copy(source, target, t.rulesets, condition)
        rows = source.execute(select(t.members).where(t.members.c.program_id == program_id)).mappings().all()
        if rows:
            target.execute(insert(t.members), [
                {**row, "status": "active", "available": 0, "pending": 0, "held": 0, "debt": 0} for row in rows])
        for table in _COPIED:
            _copy(source, target, table, table.c.program_id == program_id)
    return scratch


def _describe(kind: str, paid: Sequence[tuple[str, str, int]], ruleset: str | None) -> str:
    """A transaction as replay names it: what each rule pays whom, under which ruleset."""
    parts = ", ".join(f"{points} points to {member} by {rule}" for rule, member, points in paid) or "no rule's points"
    return f"{kind} of {parts} ({str(ruleset)[:19]}…)"


def _copy(source: Connection, target: Connection, table: Any, condition: Any) -> None:
    rows = [dict(row) for row in source.execute(select(table).where(condition)).mappings()]
    if rows:
        target.execute(insert(table), rows)
