"""`replay --check`: the ledger follows from its recorded events and its published rules.

Every recorded event of a program is judged again, in the order it was recorded, by the
ruleset that was in force at its time, on an empty ledger in a scratch SQLite database that
holds only the program, its published rulesets, its members (ids and enrolment times), their
profiles and referral codes. The recomputed effects must equal the recorded answer, and
every earn transaction in the ledger that names a rule must be one that an event produced,
with the recomputed member, points, rule and ruleset. The first difference is named."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from ..domain import FixedClock
from ..domain.errors import DomainError
from ..storage import tables as t
from ..storage.events_repository import EventsRepository, RecordedEvent
from ..storage.ledger_repository import LedgerRepository
from .container import Services
from .events import EventInput

# The tables copied into the scratch database: what the judgement of events reads and no
# event writes. Referral relations are not copied: the referral events make them again.
_COPIED = (t.member_profiles, t.referral_codes)


@dataclass
class ReplayReport:
    program_id: str
    events: int = 0
    transactions: int = 0
    differences: list[str] = field(default_factory=list)

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
            "challenges": [_without_code(c) for c in effects["challenges"]], "withheld": result["withheld"],
            "tier_changes": effects.get("tier_changes", []), "refund": refund}


def _without_code(challenge: dict[str, Any]) -> dict[str, Any]:
    """A coupon's code is drawn at random when it is issued: replay compares all but it."""
    rewards = challenge.get("rewards")
    if not rewards or rewards.get("coupon") is None:
        return challenge
    return {**challenge, "rewards": {**rewards, "coupon": "(issued)"}}


class ReplayCheck:
    def __init__(self, services: Services) -> None:
        self.services = services

    def run(self, program_id: str, progress: Callable[[int, int], None] | None = None,
            max_differences: int = 20) -> ReplayReport:
        report = ReplayReport(program_id)
        with self.services.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            events = list(EventsRepository(conn).in_order(program_id))
            rule_earns = {row.id: row for row in conn.execute(
                select(t.transactions).where(t.transactions.c.program_id == program_id,
                                             t.transactions.c.rule_id.isnot(None)))}
        with tempfile.TemporaryDirectory(prefix="dangol-replay-") as scratch_dir:
            scratch = scratch_services(self.services, Path(scratch_dir), program_id)
            try:
                produced = self._replay(scratch, program_id, events, rule_earns, report, progress, max_differences)
            finally:
                scratch.db.dispose()
        for txn_id in sorted(set(rule_earns) - produced):
            if len(report.differences) >= max_differences:
                break
            row = rule_earns[txn_id]
            report.differences.append(f"transaction {txn_id} ({row.points} points to {row.member_id}) names rule "
                                      f"{row.rule_id!r} but no recorded event produced it")
        return report

    def _replay(self, scratch: Services, program_id: str, events: list[RecordedEvent],
                rule_earns: dict[int, Any], report: ReplayReport,
                progress: Callable[[int, int], None] | None, max_differences: int) -> set[int]:
        clock = scratch.clock
        assert isinstance(clock, FixedClock)
        produced: set[int] = set()
        for done, recorded in enumerate(events, start=1):
            if len(report.differences) >= max_differences:
                break
            report.events += 1
            clock.set(recorded.recorded_at)
            event = dataclasses.replace(EventInput.from_json(recorded.body), occurred_at=recorded.occurred_at)
            where = f"event {recorded.event_id!r} (#{recorded.seq}, {recorded.type})"
            try:
                again = scratch.events.record(program_id, event)
            except DomainError as error:
                report.differences.append(f"{where}: was recorded, but replaying it is refused: {error.detail}")
                continue
            before, after = effects_of(recorded.result), effects_of(again)
            if before != after:
                changed = next(key for key in before if before[key] != after.get(key))
                report.differences.append(f"{where}: recorded {changed} {before[changed]!r}, the rules give "
                                          f"{after[changed]!r}")
                continue
            for award in recorded.result["effects"]["points"]:
                txn = award.get("transaction") or {}
                row = rule_earns.get(txn.get("id"))
                report.transactions += 1
                if row is None:
                    report.differences.append(f"{where}: its transaction {txn.get('id')} ({award['rule_id']}) is "
                                              "not in the ledger")
                    break
                produced.add(row.id)
                actual = (row.kind, row.member_id, row.points, row.rule_id, row.ruleset_hash)
                expected = ("earn", award["member_id"], award["points"], award["rule_id"], recorded.result["ruleset"])
                if actual != expected:
                    report.differences.append(f"{where}: ledger transaction {row.id} is {_describe(actual)}; the "
                                              f"rules give {_describe(expected)}")
                    break
            if progress is not None:
                progress(done, len(events))
        return produced


def scratch_services(services: Services, directory: Path, program_id: str,
                     rulesets_before: datetime | None = None) -> Services:
    """Services on a new SQLite database in `directory` holding the program, its published
    rulesets (only those effective before `rulesets_before`, if given), its members (enrolled,
    active, with nothing), their profiles and referral codes: what judging events reads."""
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


def _describe(values: tuple[Any, ...]) -> str:
    kind, member, points, rule, ruleset = values
    return f"{kind} of {points} points to {member} by {rule} ({str(ruleset)[:19]}…)"


def _copy(source: Connection, target: Connection, table: Any, condition: Any) -> None:
    rows = [dict(row) for row in source.execute(select(table).where(condition)).mappings()]
    if rows:
        target.execute(insert(table), rows)
