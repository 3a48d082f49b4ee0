"""Velocity windows: how much of one kind of activity a member, or everyone sharing a
device, IP or payment reference, did within a window, this event included."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .decision import Finding
from .policy import Kind, Measure, Per, VelocityRule


@dataclass(frozen=True, slots=True)
class Signal:
    """One screened activity. `refs` are opaque references (hashes), never raw values."""

    at: datetime
    member_id: str
    kind: Kind
    points: int = 0
    refs: Mapping[Per, str] = field(default_factory=dict)

    def key(self, per: Per) -> str | None:
        return self.member_id if per is Per.MEMBER else self.refs.get(per)


def velocity_findings(rules: Iterable[VelocityRule], signal: Signal, history: Iterable[Signal]) -> list[Finding]:
    """The rules `signal` breaches, given the earlier signals of the program (any order;
    those outside a rule's window or key are ignored). A window is (at - window, at]."""
    earlier = list(history)
    found = []
    for rule in rules:
        if rule.kind is not signal.kind:
            continue
        key = signal.key(rule.per)
        if key is None:
            continue  # the event carried no such reference: nothing to count it with
        since = signal.at - timedelta(seconds=rule.window_seconds)
        inside = [s for s in earlier if s.kind is rule.kind and since < s.at <= signal.at and s.key(rule.per) == key]
        if rule.measure is Measure.COUNT:
            total = len(inside) + 1
        else:
            total = sum(s.points for s in inside) + signal.points
        if total > rule.limit:
            what = "events" if rule.measure is Measure.COUNT else "points"
            found.append(Finding(rule.id, rule.action,
                                 f"{total} {rule.kind.value} {what} per {rule.per.value} within "
                                 f"{_span(rule.window_seconds)} (limit {rule.limit})"))
    return found


def _span(seconds: int) -> str:
    for unit, size in (("days", 86_400), ("hours", 3_600)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds // 60} minutes"
