"""Properties of challenge progress over random event sequences: a period rewards at most
once, it completes exactly when its total reaches the target, and a streak completes only
after the required number of consecutive qualifying weeks."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from dangol.engagement import Challenge, Goal, Metric, PeriodKind, Progress, Repeat, Rewards, advance

AT = datetime(2025, 1, 1, tzinfo=timezone.utc)
START = date(2025, 1, 6)  # a Monday
days = st.lists(st.tuples(st.integers(0, 200), st.integers(1, 20_000)), max_size=40).map(sorted)


@settings(max_examples=200, deadline=None)
@given(days, st.integers(1, 60_000), st.sampled_from([PeriodKind.MONTH, PeriodKind.QUARTER]))
def test_a_period_completes_once_exactly_when_its_total_reaches_the_target(
        events: list[tuple[int, int]], target: int, period: PeriodKind) -> None:
    challenge = Challenge("c", "c", Goal(Metric.SUM, target), period, Rewards(points=1))
    rows: dict[str, Progress] = {}
    totals: dict[str, int] = {}
    completions: dict[str, int] = {}
    for offset, amount in events:
        day = START + timedelta(days=offset)
        key = challenge.period_key(day)
        before = totals.get(key, 0)
        step = advance(challenge, rows.get(key), amount, day, AT)
        assert step is not None
        rows[key] = step.progress
        totals[key] = before + amount
        assert step.completed == (before < target <= totals[key])
        completions[key] = completions.get(key, 0) + step.completed
    assert all(count <= 1 for count in completions.values())
    assert {k for k, c in completions.items() if c} == {k for k, total in totals.items() if total >= target}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), max_size=30), st.integers(2, 6))
def test_a_streak_completes_after_n_consecutive_weeks(weeks: list[bool], needed: int) -> None:
    challenge = Challenge("s", "s", Goal(Metric.COUNT, 1), PeriodKind.STREAK, Rewards(points=1), Repeat.PER_PERIOD,
                          needed)
    state: Progress | None = None
    run, expected, got = 0, [], []
    for index, bought in enumerate(weeks):
        if not bought:
            run = 0
            continue
        run += 1
        if run == needed:  # a completed streak starts afresh
            expected.append(index)
            run = 0
        step = advance(challenge, state, 1, START + timedelta(weeks=index), AT)
        assert step is not None
        state = step.progress
        if step.completed:
            got.append(index)
    assert got == expected
