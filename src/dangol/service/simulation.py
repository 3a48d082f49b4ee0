"""Simulation: what a candidate ruleset would have done over a period of recorded events,
compared with what the rules in force did. Nothing of the program's own database is
written: the events are judged again on a scratch ledger (see replay.py) where the history
before the period runs under the published rulesets (so that counts such as "first
purchase" or "purchases this month" are right when the period begins) and the period itself
under the candidate."""

from __future__ import annotations

import dataclasses
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..domain.clock import as_utc
from ..domain.errors import DomainError, InvalidRequest
from ..rules import canonical_json, ruleset_hash
from ..storage.events_repository import EventsRepository, RecordedEvent
from ..storage.ledger_repository import LedgerRepository
from ..storage.rulesets_repository import PublishedRuleset, RulesetRepository
from .container import Services
from .replay import Change, judged_in_order, recorded_changes, scratch_services
from .rulesets import parse_document


@dataclass
class Side:
    """What one ruleset issued over the period."""

    points: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_member: Counter[str] = field(default_factory=Counter)
    refused: int = 0

    def as_json(self, point_value: int) -> dict[str, Any]:
        return {"points": self.points, "cost": self.points * point_value, "members_earning": len(self.by_member),
                "by_rule": dict(sorted(self.by_rule.items())), "refused_events": self.refused}


@dataclass
class SimulationReport:
    program_id: str
    candidate: str  # its hash as it would be published at the start of the period
    start: datetime
    end: datetime
    point_value: int
    currency: str
    events: int = 0
    current: Side = field(default_factory=Side)
    simulated: Side = field(default_factory=Side)
    tiers: dict[str, Any] | None = None  # the tier distribution, when the ruleset has tiers

    @property
    def members_affected(self) -> int:
        members = set(self.current.by_member) | set(self.simulated.by_member)
        return sum(1 for m in members if self.current.by_member[m] != self.simulated.by_member[m])

    def as_json(self) -> dict[str, Any]:
        return {"program": self.program_id, "candidate": self.candidate, "from": self.start.isoformat(),
                "to": self.end.isoformat(), "events": self.events, "point_value": self.point_value,
                "currency": self.currency, "current": self.current.as_json(self.point_value),
                "candidate_result": self.simulated.as_json(self.point_value),
                "difference": {"points": self.simulated.points - self.current.points,
                               "cost": (self.simulated.points - self.current.points) * self.point_value,
                               "members_affected": self.members_affected},
                "tiers": self.tiers}


class Simulation:
    def __init__(self, services: Services) -> None:
        self.services = services

    def run(self, program_id: str, candidate_text: str, start: datetime, end: datetime, *, point_value: int = 1,
            format: str | None = None, progress: Callable[[int, int], None] | None = None) -> SimulationReport:
        start, end = as_utc(start), as_utc(end)
        if end <= start:
            raise InvalidRequest("the period must end after it starts")
        if point_value < 0:
            raise InvalidRequest("a point's value cannot be negative")
        candidate = dataclasses.replace(parse_document(candidate_text, format), effective_from=start)
        with self.services.db.read() as conn:
            program = LedgerRepository(conn).get_program(program_id)
            events = list(EventsRepository(conn).in_order(program_id, end=end))
            changes = recorded_changes(conn, program_id)
        if candidate.program != program_id or candidate.currency != program.currency:
            raise InvalidRequest(f"the candidate is for {candidate.program} in {candidate.currency}; "
                                 f"the program is {program_id} in {program.currency}")
        digest = ruleset_hash(candidate)
        report = SimulationReport(program_id, digest, start, end, point_value, program.currency)
        with tempfile.TemporaryDirectory(prefix="dangol-simulate-") as directory:
            scratch = scratch_services(self.services, Path(directory), program_id, rulesets_before=start)
            try:
                with scratch.db.write() as conn:
                    repo = RulesetRepository(conn)
                    repo.add(PublishedRuleset(program_id, repo.next_number(program_id), digest, candidate.version,
                                              start, start, False, None, [], canonical_json(candidate).decode(),
                                              candidate_text))
                _judge_period(scratch, events, changes, report, progress)
                with scratch.db.read() as conn:
                    report.tiers = scratch.events.extensions.tier_distribution(conn, program_id, end)
            finally:
                scratch.db.dispose()
        return report


def _judge_period(scratch: Services, events: list[RecordedEvent], changes: list[Change], report: SimulationReport,
                  progress: Callable[[int, int], None] | None) -> None:
    """Every event judged again on the scratch ledger, in batches, against the members as
    they were (the tiers job's runs and their profiles' and statuses' changes replayed
    between, as `replay --check` does); those of the period
    tallied, as recorded and as judged now. A change that cannot be replayed is replay's
    concern (`replay --check` names it); the simulation goes on without it."""
    for done, (recorded, again) in enumerate(judged_in_order(scratch, report.program_id, events, changes,
                                                             lambda problem: None), start=1):
        if recorded.occurred_at >= report.start:
            report.events += 1
            _tally(report.current, recorded.result)
            if isinstance(again, DomainError):
                report.simulated.refused += 1
            else:
                _tally(report.simulated, again)
        if progress is not None:
            progress(done, len(events))


def _tally(side: Side, result: dict[str, Any]) -> None:
    for award in result["effects"]["points"]:
        side.points += award["points"]
        side.by_rule[award["rule_id"]] += award["points"]
        side.by_member[award["member_id"]] += award["points"]
