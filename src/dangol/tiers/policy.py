"""The evaluation policy, as pure functions over a member's qualifying activity.

Upgrades are immediate: at every activity, at the instant a refund or claw-back leaves a
rolling window (the metric rises then), and at the evaluation instant, the metric of the
window so far is compared with the ladder, and a higher tier is taken at once. Which
instants a caller advances through changes nothing.
Downgrades happen only at the end of the window under review: the finished window's
metric decides; if it qualifies for less than the member holds, the member keeps the tier
through the grace period (a `grace` transition at the window end), then drops to the
higher of what the finished window and the new window so far qualify for. A window that
qualifies confirms the tier for the next window. Nothing here reads a clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from operator import attrgetter

from .ladder import Ladder, Metric, Tier, WindowKind
from .windows import Window, window_at

TICK = timedelta(microseconds=1)  # storage keeps microseconds: the instant just after


class Reason(Enum):
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    GRACE = "grace"  # the finished window did not qualify: the tier is kept until the grace ends
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Activity:
    """One qualifying movement of the ledger: a purchase (spend > 0, purchases 1), a refund
    (spend < 0), points earned (> 0) or clawed back (< 0)."""

    at: datetime
    spend: int = 0
    points: int = 0
    purchases: int = 0

    def value(self, metric: Metric) -> int:
        if metric is Metric.SPEND:
            return self.spend
        return self.points if metric is Metric.POINTS else self.purchases


@dataclass(frozen=True, slots=True)
class Standing:
    """A member's tier. `window` is under review: at its end the tier is confirmed (for the
    next window) or lowered. `grace_until` is set while a downgrade waits out the grace."""

    tier: str
    since: datetime
    window: Window
    evaluated_at: datetime  # activity up to here has been taken into account
    grace_until: datetime | None = None

    def same_as(self, other: Standing | None) -> bool:
        """Equal but for `evaluated_at`: nothing a member would notice has changed."""
        return (other is not None and self.tier == other.tier and self.since == other.since
                and self.window == other.window and self.grace_until == other.grace_until)

    def evaluated(self, at: datetime) -> Standing:
        """The same standing, with activity up to `at` taken into account. (Built directly:
        `dataclasses.replace` costs several times more, once per member per event.)"""
        return Standing(self.tier, self.since, self.window, at, self.grace_until)


@dataclass(frozen=True, slots=True)
class Transition:
    from_tier: str
    to_tier: str
    reason: Reason
    metric: int  # the value that decided it
    at: datetime
    window: Window  # the window whose metric decided it


@dataclass(frozen=True, slots=True)
class Progress:
    tier: Tier
    metric: int  # in the current window so far
    window: Window  # the current window (rolling: the last N days)
    next_tier: Tier | None
    remaining: int | None  # to the next tier, in the metric's unit
    qualifies_for: Tier  # what the current window so far would qualify for
    review_at: datetime  # the end of the window under review
    grace_until: datetime | None


# `Activity.value` of each metric, without a method call per activity.
_VALUE = {metric: attrgetter(metric.value) for metric in Metric}


def metric_between(ladder: Ladder, activities: Sequence[Activity], start: datetime, end: datetime) -> int:
    """The metric over start <= at < end."""
    value = _VALUE[ladder.metric]
    return sum(value(a) for a in activities if start <= a.at < end)


def so_far(ladder: Ladder, activities: Sequence[Activity], moment: datetime) -> tuple[Window, int]:
    """The current window at `moment` and its metric, `moment` included. A rolling window
    at `moment` holds the activity of the last N days, `moment - N days < at <= moment`:
    an activity counts for exactly N days, and no longer at the instant it is N days old
    (`expiry`)."""
    window = Window(_so_far_start(ladder, moment), moment + TICK)
    return window, metric_between(ladder, activities, window.start, window.end)


def _so_far_start(ladder: Ladder, moment: datetime) -> datetime:
    """Where the current window at `moment` starts (`so_far`)."""
    if ladder.window is WindowKind.ROLLING:
        return moment - timedelta(days=ladder.rolling_days) + TICK
    return window_at(ladder, moment).start


def expiry(ladder: Ladder, activity: Activity) -> datetime:
    """The first instant at which a rolling window no longer holds `activity`."""
    return activity.at + timedelta(days=ladder.rolling_days)


def origin(ladder: Ladder, at: datetime) -> datetime:
    """Where the evaluation of a member without a standing starts: the previous window, so
    that a tier qualified for there is held through the current one."""
    if ladder.window is WindowKind.ROLLING:
        return at - timedelta(days=ladder.rolling_days)
    return window_at(ladder, window_at(ladder, at).start - TICK).start


def needed_from(ladder: Ladder, standing: Standing | None, at: datetime) -> datetime:
    """The earliest activity `advance` and `progress` look at (inclusive). Rolling: N days
    before the earliest instant evaluated, which also holds every refund that leaves the
    window after `standing.evaluated_at`."""
    start = origin(ladder, at) if standing is None else min(standing.window.start, standing.evaluated_at)
    return start - timedelta(days=ladder.rolling_days) if ladder.window is WindowKind.ROLLING else start


def initial(ladder: Ladder, at: datetime) -> Standing:
    begin = origin(ladder, at)
    return Standing(ladder.lowest.name, begin, window_at(ladder, begin), begin - TICK)


def advance(ladder: Ladder, standing: Standing | None, activities: Sequence[Activity],
            at: datetime) -> tuple[Standing, list[Transition]]:
    """The standing at `at` and the transitions since `standing.evaluated_at`, in order.
    Deterministic; advancing again to the same instant yields no transition."""
    state = standing or initial(ladder, at)
    if at <= state.evaluated_at:
        return state, []
    grace = timedelta(days=ladder.grace_days)
    instants = _rises(ladder, activities, state.evaluated_at, at)
    changes: list[Transition] = []
    for moment in instants:
        # Window ends (and grace ends) up to this moment come first: an activity at a window's
        # end already belongs to the next window.
        while True:
            due = state.grace_until if state.grace_until is not None else state.window.end
            if due > moment:
                break
            state = _review(ladder, state, activities, grace, changes)
        state = _upgrade(ladder, state, activities, moment, changes)
    return state.evaluated(at), changes


def _rises(ladder: Ladder, activities: Sequence[Activity], after: datetime, at: datetime) -> list[datetime]:
    """The instants in (after, at] at which the metric so far can rise, and `at`: every
    activity, and in a rolling window also the expiry of a refund or claw-back, which
    raises the metric as it leaves. An upgrade is due at the first of them that qualifies,
    whichever instants a caller advances through."""
    found = {a.at for a in activities if after < a.at <= at} | {at}
    if ladder.window is WindowKind.ROLLING:
        found |= {e for a in activities if a.value(ladder.metric) < 0 and after < (e := expiry(ladder, a)) <= at}
    return sorted(found)


def tier_at(ladder: Ladder, standing: Standing | None, activities: Sequence[Activity], at: datetime) -> Tier:
    """The member's tier at `at`."""
    return ladder.tier(advance(ladder, standing, activities, at)[0].tier)


def _review(ladder: Ladder, state: Standing, activities: Sequence[Activity], grace: timedelta,
            changes: list[Transition]) -> Standing:
    window = state.window
    decided_at = state.grace_until or window.end
    # The tier kept or taken is reviewed next over the window holding the decision (the
    # following window; later when a grace outlasts a rolling window).
    nxt = window_at(ladder, decided_at)
    held = ladder.tier(state.tier)
    if held is ladder.lowest:  # every window qualifies for the lowest tier: kept, whatever the metric
        return Standing(state.tier, state.since, nxt, state.evaluated_at)
    finished = metric_between(ladder, activities, window.start, window.end)
    target = ladder.qualifying(finished)
    if ladder.rank(target.name) >= ladder.rank(held.name):
        return Standing(state.tier, state.since, nxt, state.evaluated_at)
    if state.grace_until is None and grace:
        changes.append(Transition(held.name, held.name, Reason.GRACE, finished, window.end, window))
        return Standing(state.tier, state.since, window, state.evaluated_at, window.end + grace)
    # Not below what the new window already qualifies for: that would be an upgrade at once.
    _, current = so_far(ladder, activities, decided_at - TICK) if decided_at > window.end else (None, 0)
    target = max(target, ladder.qualifying(current), key=lambda t: ladder.rank(t.name))
    if ladder.rank(target.name) >= ladder.rank(held.name):
        return Standing(state.tier, state.since, nxt, state.evaluated_at)
    changes.append(Transition(held.name, target.name, Reason.DOWNGRADE, finished, decided_at, window))
    return Standing(target.name, decided_at, nxt, state.evaluated_at)


def _upgrade(ladder: Ladder, state: Standing, activities: Sequence[Activity], moment: datetime,
             changes: list[Transition]) -> Standing:
    # `so_far`, its window built only for an upgrade (most moments reach nothing new).
    start, end = _so_far_start(ladder, moment), moment + TICK
    value = metric_between(ladder, activities, start, end)
    reached = ladder.qualifying(value)
    if ladder.rank(reached.name) <= ladder.rank(state.tier):
        return state
    changes.append(Transition(state.tier, reached.name, Reason.UPGRADE, value, moment, Window(start, end)))
    return Standing(reached.name, moment, window_at(ladder, moment), state.evaluated_at)


def set_manually(ladder: Ladder, standing: Standing | None, activities: Sequence[Activity], tier: str,
                 at: datetime) -> tuple[Standing, list[Transition]]:
    """An operator puts a member in `tier` at `at` (after applying what was due). The tier is
    then reviewed like an upgrade: at the end of the current window, plus the grace."""
    if tier not in [t.name for t in ladder.tiers]:
        raise ValueError(f"the ladder has no tier {tier!r}; it has: {', '.join(t.name for t in ladder.tiers)}")
    state, changes = advance(ladder, standing, activities, at)
    if state.tier == tier:
        return state, changes
    window, value = so_far(ladder, activities, at)
    changes.append(Transition(state.tier, tier, Reason.MANUAL, value, at, window))
    return Standing(tier, at, window_at(ladder, at), at), changes


def progress(ladder: Ladder, standing: Standing, activities: Sequence[Activity], at: datetime) -> Progress:
    """What a member sees at `at` (for a standing already advanced to `at`)."""
    window, value = so_far(ladder, activities, at)
    if ladder.window is not WindowKind.ROLLING:
        window = window_at(ladder, at)
    tier = ladder.tier(standing.tier)
    nxt = ladder.above(tier.name)
    return Progress(tier, value, window, nxt, None if nxt is None else max(0, nxt.threshold - value),
                    ladder.qualifying(value), standing.window.end, standing.grace_until)
