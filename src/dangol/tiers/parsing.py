"""The `tiers:` section of a ruleset document, validated with the rules core's checker so
that every mistake is reported like the rest of the document (line and field path):

    tiers:
      metric: spend            # spend | points | purchases
      window: quarter          # quarter | year | {rolling_days: N}
      time_zone: Asia/Seoul    # where calendar windows begin and end
      grace_days: 14           # a downgrade waits this long after the window ends
      ladder:
        - {name: 새싹, threshold: 0}
        - {name: 열매, threshold: 300000, earn_bonus: {points: 1, per: 100}, perks: [...], badge: fruit}
        - {name: 숲, threshold: 1000000, gifting: true}   # only 숲 members may transfer points
"""

from __future__ import annotations

import re
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..rules.errors import Path
from ..rules.model import Rate
from .ladder import Benefits, Ladder, Metric, Tier, WindowKind

NAME = re.compile(r"\S(.{0,30}\S)?")
BADGE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
MAX_TIERS = 20
MAX_THRESHOLD = 10**15
MAX_ROLLING_DAYS = 3660
MAX_GRACE_DAYS = 366


class Checker(Protocol):
    """What parsing needs of rules.validation's checker (it reports, and keeps, the problems)."""

    problems: list[Any]

    def problem(self, path: Path, message: str, column: int | None = None) -> None: ...
    def mapping(self, value: object, path: Path, required: tuple[str, ...],
                optional: tuple[str, ...]) -> dict[str, Any] | None: ...
    def integer(self, value: object, path: Path, low: int, high: int) -> int | None: ...
    def text(self, value: object, path: Path, pattern: re.Pattern[str] | None = None, what: str = "") -> str | None: ...
    def rate(self, value: object, path: Path) -> Rate | None: ...
    def boolean(self, value: object, path: Path) -> bool | None: ...


def parse_tiers(check: Checker, value: object, path: Path = ("tiers",)) -> Ladder | None:
    """The ladder of a `tiers:` section; None after reporting its problems to `check`."""
    before = len(check.problems)
    doc = check.mapping(value, path, ("ladder",), ("metric", "window", "time_zone", "grace_days"))
    if doc is None:
        return None
    metric = _choice(check, doc.get("metric", "spend"), (*path, "metric"), [m.value for m in Metric])
    kind, days = _window(check, doc.get("window", "quarter"), (*path, "window"))
    zone = check.text(doc.get("time_zone", "UTC"), (*path, "time_zone"))
    if zone is not None and not _known_zone(zone):
        check.problem((*path, "time_zone"), f"unknown time zone {zone!r}; use an IANA name such as Asia/Seoul")
    grace = check.integer(doc.get("grace_days", 0), (*path, "grace_days"), 0, MAX_GRACE_DAYS)
    tiers = _ladder(check, doc["ladder"], (*path, "ladder")) if "ladder" in doc else []
    if len(check.problems) > before or metric is None or kind is None or zone is None or grace is None:
        return None
    return Ladder(tuple(tiers), Metric(metric), kind, days, zone, grace)


def _choice(check: Checker, value: object, path: Path, names: list[str]) -> str | None:
    if value not in names:
        check.problem(path, f"must be one of {', '.join(names)}, not {value!r}")
        return None
    return str(value)


def _window(check: Checker, value: object, path: Path) -> tuple[WindowKind | None, int]:
    if isinstance(value, dict):
        doc = check.mapping(value, path, ("rolling_days",), ())
        days = check.integer(doc.get("rolling_days", 0), (*path, "rolling_days"), 1, MAX_ROLLING_DAYS) if doc else None
        return (WindowKind.ROLLING, days) if days is not None else (None, 0)
    if value in ("quarter", "year"):
        return WindowKind(value), 0
    check.problem(path, f"must be quarter, year or {{rolling_days: N}}, not {value!r}")
    return None, 0


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _ladder(check: Checker, value: object, path: Path) -> list[Tier]:
    if not isinstance(value, list) or not value:
        check.problem(path, "must be a non-empty list of tiers, lowest first")
        return []
    if len(value) > MAX_TIERS:
        check.problem(path, f"at most {MAX_TIERS} tiers")
        return []
    tiers: list[Tier] = []
    for index, raw in enumerate(value):
        where = (*path, index)
        tier = _tier(check, raw, where)
        if tier is None:
            continue
        if index == 0 and tier.threshold != 0:
            check.problem((*where, "threshold"), "the first tier's threshold must be 0: every member has a tier")
        elif any(t.name == tier.name for t in tiers):
            check.problem((*where, "name"), f"duplicate tier name {tier.name!r}")
        elif tiers and tier.threshold <= tiers[-1].threshold:
            check.problem((*where, "threshold"), f"must be above the previous tier's ({tiers[-1].threshold:,}): "
                                                 "tiers are listed lowest first")
        else:
            tiers.append(tier)
    return tiers


def _tier(check: Checker, raw: object, path: Path) -> Tier | None:
    before = len(check.problems)
    doc = check.mapping(raw, path, ("name", "threshold"), ("earn_bonus", "multiplier", "perks", "badge", "gifting"))
    if doc is None:
        return None
    name = check.text(doc.get("name", ""), (*path, "name"), NAME, "a name of 1 to 32 characters")
    threshold = check.integer(doc.get("threshold", 0), (*path, "threshold"), 0, MAX_THRESHOLD)
    bonus = check.rate(doc["earn_bonus"], (*path, "earn_bonus")) if "earn_bonus" in doc else None
    if bonus is not None and bonus.of is not None:
        check.problem((*path, "earn_bonus", "of"), "a tier's earn bonus is a rate of the purchase amount; no `of`")
    multiplier = check.integer(doc["multiplier"], (*path, "multiplier"), 2, 100) if "multiplier" in doc else None
    perks = _perks(check, doc.get("perks", []), (*path, "perks"))
    badge = check.text(doc["badge"], (*path, "badge"), BADGE, "an identifier") if "badge" in doc else None
    gifting = check.boolean(doc.get("gifting", False), (*path, "gifting"))
    if len(check.problems) > before or name is None or threshold is None:
        return None
    return Tier(name, threshold, Benefits(bonus, multiplier, tuple(perks), badge, bool(gifting)))


def _perks(check: Checker, value: object, path: Path) -> list[str]:
    if not isinstance(value, list):
        check.problem(path, "must be a list of perk names")
        return []
    return [p for i, raw in enumerate(value)
            if (p := check.text(raw, (*path, i), re.compile(r"\S.{0,199}"), "a perk of 1 to 200 characters"))]
