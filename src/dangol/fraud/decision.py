"""What an event gets from screening: the strongest action any finding asks for."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    PASS = "pass"  # nothing found
    FLAG = "flag"  # let it pass, record a flag for review
    HOLD = "hold"  # credit the points as pending until a reviewer releases or reverses them
    REFUSE = "refuse"  # refuse the event (or the redemption) outright

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Action.PASS: 0, Action.FLAG: 1, Action.HOLD: 2, Action.REFUSE: 3}


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason to doubt an event: the rule that found it, what it asks, and why."""

    rule_id: str
    action: Action
    reason: str

    def json(self) -> dict[str, str]:
        return {"rule_id": self.rule_id, "action": self.action.value, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    findings: tuple[Finding, ...] = ()

    def json(self) -> dict[str, object]:
        return {"action": self.action.value, "findings": [f.json() for f in self.findings]}


def decide(findings: Iterable[Finding]) -> Decision:
    """The strongest action of the findings (pass when there are none), with all of them,
    strongest first, so a reviewer sees every reason and not only the one that decided."""
    found = tuple(sorted(findings, key=lambda f: (-f.action.severity, f.rule_id)))
    return Decision(found[0].action if found else Action.PASS, found)
