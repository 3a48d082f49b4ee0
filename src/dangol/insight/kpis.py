"""Program KPIs per day, week or month, from daily aggregates the storage layer reads.

Flows are summed over the period (enrolments, points issued, redeemed, expired, reversed,
adjusted, purchases, revenue); stocks are taken at the period's last day (points outstanding,
liability, active members, the share of buyers who bought again, breakage to date). Days are
UTC days numbered from 1970-01-01; weeks start on Monday (ISO); months are calendar months.
Ratios whose denominator is 0 are None (null), never NaN."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from ..domain.errors import InvalidRequest

Ints = npt.NDArray[np.int64]
EPOCH = date(1970, 1, 1)
PERIODS = ("day", "week", "month")
FLOW_ACCOUNTS = {"issued": ("issued", -1), "redeemed": ("redeemed", 1), "expired": ("expired", 1),
                 "reversed": ("reversed", 1), "adjusted": ("adjusted", -1)}
MEMBER_ACCOUNTS = ("available", "pending", "held")
RATIO_DIGITS = 4


@dataclass(frozen=True, slots=True)
class DailyFacts:
    """What the KPIs are computed from, by UTC day number."""

    postings: Mapping[tuple[int, str], int]  # (day, account) -> sum of posting amounts
    enrolments: Mapping[int, int]  # day -> members enrolled
    active_member: Ints  # (member number, day) of every purchase or redemption
    active_day: Ints
    purchase_member: Ints  # member number and day of every purchase, and its amount
    purchase_day: Ints
    purchase_amount: Ints


@dataclass(frozen=True, slots=True)
class PointValue:
    """What `points` points are worth in minor units of the program's currency: liability =
    outstanding x minor / points, rounded half-even to a whole minor unit."""

    minor: int = 1
    points: int = 1

    def __post_init__(self) -> None:
        if self.minor < 0 or self.points < 1:
            raise InvalidRequest("a point's value is a whole number of minor units (at least 0) per whole "
                                 "number of points (at least 1)", field="point_value")

    def of(self, points: int) -> int:
        return round(Fraction(points * self.minor, self.points))  # round() on a Fraction is half-even


def day_of(value: date) -> int:
    return (value - EPOCH).days


def period_start(day: int, period: str) -> date:
    when = EPOCH + timedelta(days=day)
    if period == "day":
        return when
    if period == "week":
        return when - timedelta(days=when.weekday())
    return when.replace(day=1)


def _active_counts(member: Ints, day: Ints, first: int, last: int, window: int) -> Ints:
    """Per day in [first, last]: members with activity in the `window` days ending that day.
    Each activity covers [d, d + window - 1]; a member's overlapping covers are merged, then
    a difference array counts the members covering each day."""
    counts = np.zeros(last - first + 2, dtype=np.int64)
    if len(member):
        order = np.lexsort((day, member))
        m, d = member[order], day[order]
        starts = np.ones(len(m), dtype=bool)
        starts[1:] = (m[1:] != m[:-1]) | (d[1:] - d[:-1] >= window)
        begin = d[starts]
        ends_at = np.append(np.flatnonzero(starts)[1:], len(m)) - 1
        end = d[ends_at] + window - 1
        begin = np.clip(begin, first, last + 1) - first
        end = np.clip(end + 1, first, last + 1) - first
        np.add.at(counts, begin, 1)
        np.add.at(counts, end, -1)
    return np.cumsum(counts)[:-1]


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, RATIO_DIGITS) if denominator else None


def kpis(facts: DailyFacts, first: int, last: int, period: str, value: PointValue,
         tiers: Mapping[str, int]) -> dict[str, Any]:
    """KPI rows for every period overlapping [first, last] (day numbers, inclusive)."""
    if period not in PERIODS:
        raise InvalidRequest(f"period is one of {', '.join(PERIODS)}", field="period")
    if last < first:
        raise InvalidRequest("the range ends before it starts", field="to")
    if last - first > 366 * 20:
        raise InvalidRequest("a range is at most 20 years", field="from")
    known = [d for d, _ in facts.postings] + list(facts.enrolments) + facts.purchase_day.tolist()
    origin = min([first, *known])  # stocks count everything before the range too

    def daily(account: str) -> Ints:
        series = np.zeros(last - origin + 1, dtype=np.int64)
        for (d, name), amount in facts.postings.items():
            if name == account and origin <= d <= last:
                series[d - origin] += amount
        return series

    flows = {name: sign * daily(account) for name, (account, sign) in FLOW_ACCOUNTS.items()}
    outstanding = np.cumsum(sum(daily(a) for a in MEMBER_ACCOUNTS))
    issued_to_date, expired_to_date = np.cumsum(flows["issued"]), np.cumsum(flows["expired"])
    enrolments = np.zeros(last - origin + 1, dtype=np.int64)
    for d, count in facts.enrolments.items():
        if origin <= d <= last:
            enrolments[d - origin] += count
    active30 = _active_counts(facts.active_member, facts.active_day, first, last, 30)
    active90 = _active_counts(facts.active_member, facts.active_day, first, last, 90)
    in_range = facts.purchase_day <= last
    purchases = np.bincount(facts.purchase_day[in_range] - origin, minlength=last - origin + 1)
    revenue = np.bincount(facts.purchase_day[in_range] - origin, weights=facts.purchase_amount[in_range],
                          minlength=last - origin + 1).astype(np.int64)
    # Buyers to date and those with a second purchase day, by the day it happened.
    pairs = np.unique(np.column_stack((facts.purchase_member, facts.purchase_day)), axis=0) \
        if len(facts.purchase_member) else np.zeros((0, 2), dtype=np.int64)
    first_buy = np.ones(len(pairs), dtype=bool)
    first_buy[1:] = pairs[1:, 0] != pairs[:-1, 0]
    second_buy = np.zeros(len(pairs), dtype=bool)
    second_buy[1:] = first_buy[:-1] & ~first_buy[1:]
    buyers = np.cumsum(np.bincount(pairs[first_buy, 1] - origin, minlength=last - origin + 1)[:last - origin + 1])
    repeaters = np.cumsum(np.bincount(pairs[second_buy, 1] - origin, minlength=last - origin + 1)[:last - origin + 1])

    rows: list[dict[str, Any]] = []
    day = first
    while day <= last:
        start = period_start(day, period)
        end = day
        while end + 1 <= last and period_start(end + 1, period) == start:
            end += 1
        a, b = day - origin, end - origin + 1
        issued, redeemed = int(flows["issued"][a:b].sum()), int(flows["redeemed"][a:b].sum())
        count, spend = int(purchases[a:b].sum()), int(revenue[a:b].sum())
        held = int(outstanding[b - 1])
        rows.append({
            "period": start.isoformat(), "from": (EPOCH + timedelta(days=day)).isoformat(),
            "to": (EPOCH + timedelta(days=end)).isoformat(),
            "enrolments": int(enrolments[a:b].sum()),
            "active_members_30d": int(active30[end - first]), "active_members_90d": int(active90[end - first]),
            "points_issued": issued, "points_redeemed": redeemed,
            "points_expired": int(flows["expired"][a:b].sum()), "points_reversed": int(flows["reversed"][a:b].sum()),
            "points_adjusted": int(flows["adjusted"][a:b].sum()),
            "points_outstanding": held, "liability_minor": value.of(held),
            "redemption_rate": _ratio(redeemed, issued),
            "breakage_to_date": _ratio(int(expired_to_date[b - 1]), int(issued_to_date[b - 1])),
            "purchases": count, "revenue_minor": spend,
            "average_order_minor": round(Fraction(spend, count)) if count else None,
            "repeat_purchase_rate": _ratio(int(repeaters[b - 1]), int(buyers[b - 1])),
        })
        day = end + 1
    return {"period": period, "from": (EPOCH + timedelta(days=first)).isoformat(),
            "to": (EPOCH + timedelta(days=last)).isoformat(),
            "point_value": {"minor": value.minor, "points": value.points},
            "tier_distribution": dict(sorted(tiers.items())), "rows": rows}
