"""The `coupons:` and `challenges:` sections of a ruleset document, parsed and checked.

The rules core's validator (rules/validation.py) calls `parse_coupons`, `parse_challenges`
and `check_references` with itself as `checker`: its typed field readers record each
problem with the field path and line, so mistakes here read exactly like the rest of the
document's. This module stays standard-library only: the checker is a Protocol."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from .challenges import Challenge, Goal, Metric, PeriodKind, Repeat, Rewards
from .coupons import Benefit, BenefitKind, CouponTemplate

Path = tuple[str | int, ...]
T = TypeVar("T")
MAX_ITEMS = 1_000
MAX_AMOUNT = 10**12
MAX_DAYS = 36_500
MAX_WEEKS = 520


class Checker(Protocol):
    problems: list[Any]

    def problem(self, path: Path, message: str, column: int | None = None) -> None: ...
    def mapping(self, value: object, path: Path, required: tuple[str, ...],
                optional: tuple[str, ...]) -> dict[str, Any] | None: ...
    def integer(self, value: object, path: Path, low: int, high: int) -> int | None: ...
    def text(self, value: object, path: Path, pattern: re.Pattern[str] | None = None, what: str = "") -> str | None: ...
    def choice(self, value: object, path: Path, kind: Callable[[str], T], names: list[str]) -> T | None: ...


def parse_coupons(checker: Checker, value: object, identifier: re.Pattern[str]) -> list[CouponTemplate]:
    templates: list[CouponTemplate] = []
    for index, raw in _entries(checker, value, "coupons", "coupon templates"):
        path: Path = ("coupons", index)
        before = len(checker.problems)
        doc = checker.mapping(raw, path, ("id", "name", "gives", "valid_days"), ("per_member",))
        if doc is None:
            continue
        template_id = checker.text(doc.get("id", ""), (*path, "id"), identifier, "an identifier (a-z, 0-9, _ . -)")
        name = checker.text(doc.get("name", ""), (*path, "name"))
        gives = _benefit(checker, doc.get("gives"), (*path, "gives"))
        days = checker.integer(doc.get("valid_days", 0), (*path, "valid_days"), 1, MAX_DAYS)
        per_member = checker.integer(doc["per_member"], (*path, "per_member"), 1, MAX_ITEMS) if "per_member" in doc else None
        if len(checker.problems) == before and template_id and name is not None and gives and days:
            if any(t.id == template_id for t in templates):
                checker.problem((*path, "id"), f"duplicate coupon template id {template_id!r}")
                continue
            templates.append(CouponTemplate(template_id, name, gives, days, per_member))
    return sorted(templates, key=lambda t: t.id)


def _benefit(checker: Checker, value: object, path: Path) -> Benefit | None:
    doc = checker.mapping(value, path, (), ("discount", "percent", "cap", "points"))
    if doc is None:
        return None
    given = [k for k in ("discount", "percent", "points") if k in doc]
    if len(given) != 1:
        checker.problem(path, "needs exactly one of discount (minor units), percent, points"
                        + (f" (has {', '.join(given)})" if given else ""))
        return None
    if "cap" in doc and given != ["percent"]:
        checker.problem((*path, "cap"), "only a percent discount has a cap")
        return None
    kind = BenefitKind(given[0])
    high = 100 if kind is BenefitKind.PERCENT else MAX_AMOUNT
    amount = checker.integer(doc[given[0]], (*path, given[0]), 1, high)
    cap = checker.integer(doc["cap"], (*path, "cap"), 1, MAX_AMOUNT) if "cap" in doc else None
    if amount is None or ("cap" in doc and cap is None):
        return None
    return Benefit(kind, amount, cap)


def parse_challenges(checker: Checker, value: object, identifier: re.Pattern[str], event_types: set[str],
                     references: list[tuple[Path, str, str]]) -> list[Challenge]:
    """The challenges; the coupon templates their rewards name are added to `references`."""
    challenges: list[Challenge] = []
    for index, raw in _entries(checker, value, "challenges", "challenges"):
        path: Path = ("challenges", index)
        before = len(checker.problems)
        doc = checker.mapping(raw, path, ("id", "name", "goal", "period", "rewards"), ("repeat",))
        if doc is None:
            continue
        challenge_id = checker.text(doc.get("id", ""), (*path, "id"), identifier, "an identifier (a-z, 0-9, _ . -)")
        name = checker.text(doc.get("name", ""), (*path, "name"))
        goal = _goal(checker, doc.get("goal"), (*path, "goal"), identifier, event_types)
        period, weeks = _period(checker, doc.get("period"), (*path, "period"))
        rewards = _rewards(checker, doc.get("rewards"), (*path, "rewards"), identifier)
        repeat = checker.choice(doc.get("repeat", "per_period"), (*path, "repeat"), Repeat, [r.value for r in Repeat])
        if len(checker.problems) > before or not (challenge_id and name is not None and goal and period
                                                    and rewards and repeat):
            continue
        if any(c.id == challenge_id for c in challenges):
            checker.problem((*path, "id"), f"duplicate challenge id {challenge_id!r}")
            continue
        if rewards.coupon:
            references.append(((*path, "rewards", "coupon"), "coupon", rewards.coupon))
        challenges.append(Challenge(challenge_id, name, goal, period, rewards, repeat, weeks))
    return sorted(challenges, key=lambda c: c.id)


def _goal(checker: Checker, value: object, path: Path, identifier: re.Pattern[str],
          event_types: set[str]) -> Goal | None:
    doc = checker.mapping(value, path, (), ("count", "sum", "on", "category"))
    if doc is None:
        return None
    given = [k for k in ("count", "sum") if k in doc]
    if len(given) != 1:
        checker.problem(path, "needs exactly one of count (events) or sum (amount in minor units)"
                        + (f" (has {', '.join(given)})" if given else ""))
        return None
    target = checker.integer(doc[given[0]], (*path, given[0]), 1, MAX_AMOUNT)
    raw_on = doc.get("on", ["purchase"])
    names = [raw_on] if isinstance(raw_on, str) else raw_on
    on: list[str] = []
    if not isinstance(names, list) or not names:
        checker.problem((*path, "on"), "must be an event type or a non-empty list of them")
    else:
        for position, name in enumerate(names):
            where = (*path, "on") if isinstance(raw_on, str) else (*path, "on", position)
            if name not in event_types:
                checker.problem(where, f"unknown event type {name!r}; known: {', '.join(sorted(event_types))}")
            else:
                on.append(name)
    category = checker.text(doc["category"], (*path, "category")) if "category" in doc else None
    if target is None or len(on) != len(names or []) or ("category" in doc and category is None):
        return None
    return Goal(Metric(given[0]), target, tuple(sorted(set(on))), category)


def _period(checker: Checker, value: object, path: Path) -> tuple[PeriodKind | None, int]:
    if isinstance(value, dict):
        doc = checker.mapping(value, path, ("streak_weeks",), ())
        weeks = checker.integer(doc.get("streak_weeks", 0), (*path, "streak_weeks"), 2, MAX_WEEKS) if doc else None
        return (PeriodKind.STREAK, weeks) if weeks else (None, 0)
    if value in ("month", "quarter"):
        return PeriodKind(str(value)), 0
    checker.problem(path, f"must be month, quarter or {{streak_weeks: N}}, not {value!r}")
    return None, 0


def _rewards(checker: Checker, value: object, path: Path, identifier: re.Pattern[str]) -> Rewards | None:
    doc = checker.mapping(value, path, (), ("points", "badge", "coupon"))
    if doc is None:
        return None
    if not doc:
        checker.problem(path, "needs at least one of points, badge, coupon")
        return None
    points = checker.integer(doc["points"], (*path, "points"), 1, MAX_AMOUNT) if "points" in doc else 0
    badge = checker.text(doc["badge"], (*path, "badge"), identifier, "an identifier") if "badge" in doc else None
    coupon = checker.text(doc["coupon"], (*path, "coupon"), identifier, "an identifier") if "coupon" in doc else None
    if points is None or ("badge" in doc and badge is None) or ("coupon" in doc and coupon is None):
        return None
    return Rewards(points, badge, coupon)


def check_references(checker: Checker, templates: Iterable[CouponTemplate], challenges: Iterable[Challenge],
                     named: Iterable[tuple[Path, str, str]]) -> None:
    """Every coupon template and challenge that an action or a reward names exists.
    `named` holds (path, "coupon" | "challenge", id) for each action or reward naming one."""
    template_ids = {t.id for t in templates}
    challenge_ids = {c.id for c in challenges}
    for path, kind, name in named:
        known = template_ids if kind == "coupon" else challenge_ids
        if name not in known:
            section = "coupons" if kind == "coupon" else "challenges"
            checker.problem(path, f"no {'coupon template' if kind == 'coupon' else 'challenge'} {name!r} "
                                  f"under {section}" + (f" (there: {', '.join(sorted(known))})" if known else ""))


def _entries(checker: Checker, value: object, section: str, what: str) -> list[tuple[int, object]]:
    if not isinstance(value, list):
        checker.problem((section,), f"must be a list of {what}")
        return []
    if len(value) > MAX_ITEMS:
        checker.problem((section,), f"at most {MAX_ITEMS:,} {what}")
        return []
    return list(enumerate(value))

