"""The `fraud:` section of a ruleset document, parsed with the rules core's checker so a
mistake is reported like the rest of the document (line and field path):

    fraud:
      hold_days: 30           # held points become available by themselves after this long
      velocity:
        - {id: device-farm, kind: earn, per: device, count: 20, window: {hours: 1}, action: hold}
        - {id: cash-out, kind: redemption, per: member, points: 50000, window: {days: 1}, action: refuse}
      rings:
        share: [device, payment, address]   # fingerprints that link members into a ring
        min_members: 3
        action: hold                        # for referrals inside a ring
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from .decision import Action

IDENTIFIER = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
MAX_RULES = 100
MAX_LIMIT = 10**12
MAX_WINDOW_SECONDS = 366 * 86_400
MAX_HOLD_DAYS = 365
MAX_RING = 1_000
UNITS = {"minutes": 60, "hours": 3_600, "days": 86_400}

Path = tuple[str | int, ...]


class Kind(StrEnum):
    """What a velocity rule counts."""

    EARN = "earn"
    REDEMPTION = "redemption"
    REFERRAL = "referral"
    GIFT = "gift"


class Per(StrEnum):
    """Whose activity a velocity rule counts: the member's, or everyone's that shares a reference."""

    MEMBER = "member"
    DEVICE = "device"
    IP = "ip"
    PAYMENT = "payment"


class Measure(StrEnum):
    COUNT = "count"
    POINTS = "points"


RING_FINGERPRINTS = ("device", "payment", "address")


@dataclass(frozen=True, slots=True)
class VelocityRule:
    """Breached when the events of `kind` per `per` within `window_seconds` up to and
    including this one number more than `limit` (count) or add up to more than `limit` points."""

    id: str
    kind: Kind
    per: Per
    measure: Measure
    limit: int
    window_seconds: int
    action: Action

    def canonical(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind.value, "per": self.per.value, self.measure.value: self.limit,
                "window_seconds": self.window_seconds, "action": self.action.value}


@dataclass(frozen=True, slots=True)
class RingRule:
    share: tuple[str, ...]
    min_members: int
    action: Action

    def canonical(self) -> dict[str, object]:
        return {"share": list(self.share), "min_members": self.min_members, "action": self.action.value}


@dataclass(frozen=True, slots=True)
class FraudPolicy:
    velocity: tuple[VelocityRule, ...] = ()  # sorted by id
    rings: RingRule | None = None
    hold_days: int = 30

    def canonical(self) -> dict[str, object]:
        doc: dict[str, object] = {"hold_days": self.hold_days, "velocity": [r.canonical() for r in self.velocity]}
        if self.rings is not None:
            doc["rings"] = self.rings.canonical()
        return doc

    def rules_for(self, kind: Kind) -> tuple[VelocityRule, ...]:
        return tuple(r for r in self.velocity if r.kind is kind)

    @property
    def longest_window_seconds(self) -> int:
        return max((r.window_seconds for r in self.velocity), default=0)


class Checker(Protocol):
    """What parsing needs of rules.validation's checker (it reports, and keeps, the problems)."""

    problems: list[Any]

    def problem(self, path: Path, message: str, column: int | None = None) -> None: ...
    def mapping(self, value: object, path: Path, required: tuple[str, ...],
                optional: tuple[str, ...]) -> dict[str, Any] | None: ...
    def integer(self, value: object, path: Path, low: int, high: int) -> int | None: ...
    def text(self, value: object, path: Path, pattern: re.Pattern[str] | None = None, what: str = "") -> str | None: ...


def parse_fraud(check: Checker, value: object, path: Path = ("fraud",)) -> FraudPolicy | None:
    """The policy of a `fraud:` section; None after reporting its problems to `check`."""
    before = len(check.problems)
    doc = check.mapping(value, path, (), ("hold_days", "velocity", "rings"))
    if doc is None:
        return None
    hold_days = check.integer(doc.get("hold_days", 30), (*path, "hold_days"), 1, MAX_HOLD_DAYS)
    rules: list[VelocityRule] = []
    raw = doc.get("velocity", [])
    if not isinstance(raw, list) or len(raw) > MAX_RULES:
        check.problem((*path, "velocity"), f"must be a list of at most {MAX_RULES} velocity rules")
        raw = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw):
        rule = _velocity(check, entry, (*path, "velocity", index))
        if rule is None:
            continue
        if rule.id in seen:
            check.problem((*path, "velocity", index, "id"), f"duplicate id {rule.id!r} (also velocity[{seen[rule.id]}])")
            continue
        seen[rule.id] = index
        rules.append(rule)
    rings = _rings(check, doc["rings"], (*path, "rings")) if "rings" in doc else None
    if len(check.problems) > before or hold_days is None:
        return None
    return FraudPolicy(tuple(sorted(rules, key=lambda r: r.id)), rings, hold_days)


def _choice(check: Checker, value: object, path: Path, names: list[str]) -> str | None:
    if value not in names:
        check.problem(path, f"must be one of {', '.join(names)}, not {value!r}")
        return None
    return str(value)


def _action(check: Checker, value: object, path: Path) -> Action | None:
    found = _choice(check, value, path, [a.value for a in Action if a is not Action.PASS])
    return None if found is None else Action(found)


def _velocity(check: Checker, value: object, path: Path) -> VelocityRule | None:
    doc = check.mapping(value, path, ("id", "kind", "window", "action"), ("per", "count", "points"))
    if doc is None:
        return None
    rule_id = check.text(doc.get("id", ""), (*path, "id"), IDENTIFIER, "an identifier (a-z, 0-9, _ . -)")
    kind = _choice(check, doc.get("kind"), (*path, "kind"), [k.value for k in Kind])
    per = _choice(check, doc.get("per", "member"), (*path, "per"), [p.value for p in Per])
    measures = [m for m in Measure if m.value in doc]
    limit = None
    if len(measures) != 1:
        check.problem(path, "needs exactly one limit: count (events) or points (their sum)")
    else:
        limit = check.integer(doc[measures[0].value], (*path, measures[0].value), 1, MAX_LIMIT)
    window = _window(check, doc.get("window"), (*path, "window"))
    action = _action(check, doc.get("action"), (*path, "action"))
    if None in (rule_id, kind, per, limit, window, action):
        return None
    assert rule_id and kind and per and limit and window and action
    return VelocityRule(rule_id, Kind(kind), Per(per), measures[0], limit, window, action)


def _window(check: Checker, value: object, path: Path) -> int | None:
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in UNITS:
        check.problem(path, "must be one of {minutes: N}, {hours: N}, {days: N}")
        return None
    unit, amount = next(iter(value.items()))
    seconds = UNITS[unit]
    found = check.integer(amount, (*path, unit), 1, MAX_WINDOW_SECONDS // seconds)
    return None if found is None else found * seconds


def _rings(check: Checker, value: object, path: Path) -> RingRule | None:
    doc = check.mapping(value, path, ("action",), ("share", "min_members"))
    if doc is None:
        return None
    share = doc.get("share", list(RING_FINGERPRINTS))
    if not isinstance(share, list) or not share or any(s not in RING_FINGERPRINTS for s in share):
        check.problem((*path, "share"), f"must be a non-empty list of {', '.join(RING_FINGERPRINTS)}")
        share = None
    size = check.integer(doc.get("min_members", 2), (*path, "min_members"), 2, MAX_RING)
    action = _action(check, doc.get("action"), (*path, "action"))
    if share is None or size is None or action is None:
        return None
    return RingRule(tuple(sorted(set(share))), size, action)
