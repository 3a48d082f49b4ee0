"""Challenges and missions: a goal counted over a period, rewards on completion.

A challenge progresses from its own goal: every event the events endpoint records for a
member is offered to every challenge, and an event that matches the goal's filter (event
type, item category) adds 1 (a `count` goal) or its qualifying amount (a `sum` goal: the
event's amount or, with a category, the amounts of its items in that category). A
rule's `advance_challenge: {challenge: C, amount: A}` action adds A more, for progress
the goal's filter cannot say (e.g. "a purchase over 30,000 KRW on a weekend counts twice").

Periods are calendar periods in the member's time zone: a month ("2025-03"), a quarter
("2025-Q1"), or a streak of N consecutive ISO weeks (Monday first) in each of which the
goal is reached. `repeat: per_period` can be completed again every month or quarter (and
a streak again after each completed streak); `once` is completed at most once, ever."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from .events import Occurrence


class Metric(Enum):
    COUNT = "count"  # number of qualifying events
    SUM = "sum"  # sum of the qualifying amount, in minor units


class PeriodKind(Enum):
    MONTH = "month"
    QUARTER = "quarter"
    STREAK = "streak"  # `weeks` consecutive calendar weeks, each reaching the goal


class Repeat(Enum):
    PER_PERIOD = "per_period"
    ONCE = "once"


@dataclass(frozen=True, slots=True)
class Goal:
    metric: Metric
    target: int  # for a streak: what each week must reach
    on: tuple[str, ...] = ("purchase",)  # event types that count, sorted
    category: str | None = None  # only events with items of this category count, and only those items' amounts


@dataclass(frozen=True, slots=True)
class Rewards:
    points: int = 0
    badge: str | None = None
    coupon: str | None = None  # a coupon template id


@dataclass(frozen=True, slots=True)
class Challenge:
    id: str
    name: str
    goal: Goal
    period: PeriodKind
    rewards: Rewards
    repeat: Repeat = Repeat.PER_PERIOD
    weeks: int = 0  # STREAK only: how many consecutive weeks

    @property
    def target(self) -> int:
        """What the progress value must reach: the goal, or the number of weeks of a streak."""
        return self.weeks if self.period is PeriodKind.STREAK else self.goal.target

    def period_key(self, day: date) -> str:
        """The row a progress is kept in: one per month or quarter, one per member for a streak."""
        if self.period is PeriodKind.MONTH:
            return f"{day.year}-{day.month:02d}"
        if self.period is PeriodKind.QUARTER:
            return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
        return "streak"


def contribution(goal: Goal, event: Occurrence) -> int:
    """What one event adds to a goal: 0 when it does not qualify."""
    if event.type not in goal.on:
        return 0
    if goal.metric is Metric.COUNT:
        return 1 if goal.category is None or event.has_category(goal.category) else 0
    return max(0, event.amount_in(goal.category))


@dataclass(frozen=True, slots=True)
class Progress:
    """A member's progress in one period. For a month or quarter `value` is the progress
    toward the goal. For a streak `value` counts toward the goal within ISO week `week`, and
    `streak` is the run of consecutive weeks that reached it, this one included once it
    does (back to 0 when a streak completes: the next one starts afresh)."""

    period: str
    value: int = 0
    streak: int = 0
    week: str | None = None
    completions: int = 0
    completed_at: datetime | None = None

    def shown(self, challenge: Challenge) -> int:
        """The progress a member sees against `challenge.target`."""
        return self.streak if challenge.period is PeriodKind.STREAK else self.value


@dataclass(frozen=True, slots=True)
class Step:
    progress: Progress
    completed: bool  # this step completed the challenge: grant the rewards

    def shown(self, challenge: Challenge) -> int:
        """The progress a member sees after this step. A streak stores its run back at 0 once
        it completes (the next one starts afresh), but the step that completed it shows the
        run it completed: 4 of 4, not 0."""
        if self.completed and challenge.period is PeriodKind.STREAK:
            return challenge.weeks
        return self.progress.shown(challenge)


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def advance(challenge: Challenge, current: Progress | None, amount: int, day: date, at: datetime,
            completed_before: bool = False) -> Step | None:
    """The progress after adding `amount` on the member's local date `day` (at instant `at`);
    None when nothing changes. `current` is the stored progress of `challenge.period_key(day)`;
    `completed_before` says a `once` challenge was completed in some period already."""
    if amount <= 0 or (challenge.repeat is Repeat.ONCE and completed_before):
        return None
    key = challenge.period_key(day)
    state = current if current is not None and current.period == key else Progress(key)
    if challenge.period is PeriodKind.STREAK:
        return _advance_streak(challenge, state, amount, day, at)
    # Progress is built field by field, here and below: `dataclasses.replace` costs several
    # times more, and this runs for every challenge of every event.
    value = state.value + amount
    if state.completed_at is not None or value < challenge.goal.target:
        return Step(Progress(key, value, state.streak, state.week, state.completions, state.completed_at), False)
    return Step(Progress(key, value, state.streak, state.week, state.completions + 1, at), True)


def _advance_streak(challenge: Challenge, state: Progress, amount: int, day: date, at: datetime) -> Step | None:
    week, target = iso_week(day), challenge.goal.target
    if state.week is not None and week < state.week:
        return None  # a late event for a week already left behind: the streak follows the record's order
    before, streak = state.value, state.streak
    if state.week != week:
        carried = state.week == iso_week(day - timedelta(weeks=1)) and before >= target
        before, streak = 0, streak if carried else 0
    value = before + amount
    crossed = before < target <= value  # this week reaches the goal now
    streak += crossed
    if crossed and streak >= challenge.weeks:
        return Step(Progress(state.period, value, 0, week, state.completions + 1, at), True)
    return Step(Progress(state.period, value, streak, week, state.completions, state.completed_at), False)
