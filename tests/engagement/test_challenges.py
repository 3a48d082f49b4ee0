"""Challenge progress and completion, pure: the three kinds the product names, by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from dangol.engagement import (Challenge, Goal, Item, Metric, Occurrence, PeriodKind, Progress, Repeat, Rewards,
                               advance, contribution)

AT = datetime(2025, 3, 1, tzinfo=timezone.utc)
THREE = Challenge("three", "3 purchases", Goal(Metric.COUNT, 3), PeriodKind.MONTH, Rewards(points=500))
DESIGN = Challenge("design", "50,000 in design", Goal(Metric.SUM, 50_000, category="design"), PeriodKind.QUARTER,
                   Rewards(coupon="design-10"))
STREAK = Challenge("streak", "weekly", Goal(Metric.COUNT, 1), PeriodKind.STREAK, Rewards(points=1000),
                   Repeat.ONCE, weeks=4)


def run(challenge: Challenge, days: list[date], amount: int = 1, state: Progress | None = None) -> tuple[Progress | None, list[date]]:
    """Feeds one event per day; returns the final progress and the days that completed it."""
    completed = []
    for day in days:
        step = advance(challenge, state, amount, day, AT, completed_before=bool(completed) and challenge.repeat is Repeat.ONCE)
        if step is None:
            continue
        state = step.progress if step.progress.period == challenge.period_key(day) else state
        if step.completed:
            completed.append(day)
    return state, completed


def test_three_purchases_in_a_calendar_month_complete_on_the_third() -> None:
    state, done = run(THREE, [date(2025, 3, 2), date(2025, 3, 15), date(2025, 3, 31)])
    assert done == [date(2025, 3, 31)] and state is not None and state.value == 3 and state.period == "2025-03"


def test_purchases_split_over_two_months_do_not_complete() -> None:
    # 2 in March, then April starts a new period at 0: 1 of 3 in April.
    state, done = run(THREE, [date(2025, 3, 30), date(2025, 3, 31), date(2025, 4, 1)])
    assert done == [] and state is not None and (state.period, state.value) == ("2025-04", 1)


def test_a_month_completes_once_and_again_next_month() -> None:
    days = [date(2025, 3, d) for d in (1, 2, 3, 4)] + [date(2025, 4, d) for d in (1, 2, 3)]
    state = None
    done = []
    for day in days:
        stored = state if state is not None and state.period == THREE.period_key(day) else None
        step = advance(THREE, stored, 1, day, AT)
        assert step is not None
        state = step.progress
        done += [day] if step.completed else []
    # The 4th March purchase is counted (4 of 3) but completes nothing more.
    assert done == [date(2025, 3, 3), date(2025, 4, 3)]


def test_design_spend_counts_only_design_items_within_the_quarter() -> None:
    basket = Occurrence("purchase", 40_000, (Item("design", 30_000), Item("writing", 10_000)))
    assert contribution(DESIGN.goal, basket) == 30_000
    assert contribution(DESIGN.goal, Occurrence("refund", 30_000, (Item("design", 30_000),))) == 0
    # 60,000 KRW with one 1,000 KRW design item: 1,000 counts, not the order.
    one_item = Occurrence("purchase", 60_000, (Item("writing", 59_000), Item("design", 1_000)))
    assert contribution(DESIGN.goal, one_item) == 1_000
    # Quantities change nothing: an item's amount is its line total. An item without one adds 0.
    assert contribution(DESIGN.goal, Occurrence("purchase", 9_000, (Item("design", 9_000, quantity=3),))) == 9_000
    assert contribution(DESIGN.goal, Occurrence("purchase", 12_000, (Item("design"),))) == 0
    # Q1: 30,000 on 10 Jan + 25,000 on 31 Mar = 55,000 >= 50,000, done on 31 March.
    step = advance(DESIGN, None, 30_000, date(2025, 1, 10), AT)
    assert step is not None and not step.completed
    step = advance(DESIGN, step.progress, 25_000, date(2025, 3, 31), AT)
    assert step is not None and step.completed and step.progress.value == 55_000
    # 1 April is Q2: a fresh 0 + 25,000, not done.
    april = advance(DESIGN, step.progress, 25_000, date(2025, 4, 1), AT)
    assert april is not None and (april.progress.period, april.progress.value, april.completed) == ("2025-Q2", 25_000, False)


def test_a_category_count_counts_events_with_an_item_of_the_category() -> None:
    goal = Goal(Metric.COUNT, 3, category="design")
    # One per event however many design items or units it has, and whatever they cost.
    assert contribution(goal, Occurrence("purchase", 40_000, (Item("design", 1_000, 5), Item("design", 2_000)))) == 1
    assert contribution(goal, Occurrence("purchase", 9_000, (Item("design"),))) == 1
    assert contribution(goal, Occurrence("purchase", 9_000, (Item("writing", 9_000),))) == 0
    assert contribution(goal, Occurrence("purchase", 9_000)) == 0  # no items: no category


def test_a_purchase_every_week_for_four_weeks() -> None:
    # Mondays 3, 10, 17 March and Sunday 30 March: weeks 10, 11, 12, 13 of 2025, consecutive.
    state, done = run(STREAK, [date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 10), date(2025, 3, 17),
                               date(2025, 3, 30)])
    assert done == [date(2025, 3, 30)]
    # The completing step shows the run it completed, 4 of 4; what is stored starts again at 0.
    before, _ = run(STREAK, [date(2025, 3, 3), date(2025, 3, 10), date(2025, 3, 17)])
    step = advance(STREAK, before, 1, date(2025, 3, 30), AT)
    assert step is not None and step.completed
    assert step.shown(STREAK) == 4 and step.progress.shown(STREAK) == 0


def test_a_missed_week_restarts_the_streak() -> None:
    # Weeks 10, 11, (12 missed), 13, 14, 15: the run after the gap is 3 weeks long.
    state, done = run(STREAK, [date(2025, 3, 3), date(2025, 3, 10), date(2025, 3, 24), date(2025, 3, 31),
                               date(2025, 4, 7)])
    assert done == [] and state is not None and state.streak == 3 and state.shown(STREAK) == 3
    state, done = run(STREAK, [date(2025, 4, 14)], state=state)
    assert done == [date(2025, 4, 14)]


def test_a_once_challenge_never_completes_twice() -> None:
    weeks = [date(2025, 3, 3) + timedelta(weeks=n) for n in range(8)]
    state, done = run(STREAK, weeks)
    assert done == [date(2025, 3, 24)]
    repeating = Challenge("s2", "weekly", STREAK.goal, PeriodKind.STREAK, STREAK.rewards, Repeat.PER_PERIOD, 4)
    # Repeatable: weeks 1-4 complete, weeks 5-8 complete again (week 4 is not counted twice).
    assert run(repeating, weeks)[1] == [date(2025, 3, 24), date(2025, 4, 21)]
    assert run(repeating, weeks[:7])[1] == [date(2025, 3, 24)]


def test_nothing_to_add_changes_nothing() -> None:
    assert advance(THREE, None, 0, date(2025, 3, 1), AT) is None
