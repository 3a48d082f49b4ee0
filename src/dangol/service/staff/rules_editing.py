"""The console's rules editor: check a draft (every mistake at its line, the changes against
the ruleset in force and a line diff of the documents), simulate it over recorded history,
and publish it (with the notice the program's policy requires) with an audit entry in the
publication's transaction. Through the same services as the API's validate, simulate and
publish."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ...domain.errors import DomainError, NoRulesInForce
from ...rules.changes import compare, worsens
from ..container import Services
from ..rulesets import parse_document
from ..simulation import Simulation
from . import audit
from .audit import Actor, Change

RULES_PUBLISH = "rules.publish"
SIMULATED_DAYS = 90


@dataclass(frozen=True, slots=True)
class Checked:
    """A draft checked: its problems (each with line, field, message), or what it changes."""
    problems: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    worsens: bool = False
    diff: list[str] = field(default_factory=list)  # unified diff lines against the source in force

    @property
    def valid(self) -> bool:
        return not self.problems

    def problems_at(self, line: int) -> list[dict[str, Any]]:
        return [p for p in self.problems if p.get("line") == line]

    @property
    def unplaced(self) -> list[dict[str, Any]]:
        return [p for p in self.problems if not p.get("line")]


class RulesEditing:
    def __init__(self, services: Services) -> None:
        self.services = services

    def source_in_force(self, program_id: str) -> str:
        try:
            return str(self.services.rulesets.current(program_id)["source"])
        except NoRulesInForce:
            return ""

    def check(self, program_id: str, text: str) -> Checked:
        try:
            draft = parse_document(text)
        except DomainError as invalid:
            listed = invalid.context.get("problems")
            problems = list(listed) if isinstance(listed, list) else [
                {"line": None, "field": "", "message": invalid.detail}]
            return Checked(problems)
        current = self.services.rulesets.parsed_current(program_id)
        changes = compare(current, draft) if current is not None else ()
        diff = list(difflib.unified_diff(self.source_in_force(program_id).splitlines(), text.splitlines(),
                                         "in force", "draft", lineterm=""))
        return Checked([], [c.as_json() for c in changes], worsens(changes), diff)

    def simulate(self, program_id: str, text: str, now: datetime) -> dict[str, Any]:
        """What the draft would have awarded over the last 90 days, against what was awarded."""
        report = Simulation(self.services).run(program_id, text, now - timedelta(days=SIMULATED_DAYS), now)
        return report.as_json()

    def publish(self, program_id: str, text: str, actor: Actor, idempotency_key: str, *,
                effective_from: datetime | None = None, urgent: bool = False,
                reason: str | None = None) -> dict[str, Any]:
        def audited(conn: Connection, published: dict[str, Any]) -> None:
            audit.record(conn, actor, Change(RULES_PUBLISH, program_id, after={
                "hash": published["hash"], "number": published["number"],
                "effective_from": published["effective_from"]}, detail={
                "urgent": urgent, "reason": reason, "changes": published["changes"]}),
                self.services.clocks.now())

        return self.services.rulesets.publish(program_id, text, effective_from=effective_from, urgent=urgent,
                                              reason=reason, idempotency_key=idempotency_key, also=audited)
