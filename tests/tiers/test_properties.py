"""Properties of the pure evaluation, on random purchase/refund histories of a year and
random evaluation instants: upgrades never wait, downgrades happen only at a window's end
plus the grace, and evaluating step by step gives what one evaluation at the end gives."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from dangol.tiers import Activity, Ladder, Reason, Tier, WindowKind, advance
from dangol.tiers.policy import initial, needed_from, so_far
from dangol.tiers.windows import window_at

START = datetime(2025, 1, 1, tzinfo=timezone.utc)
TIERS = (Tier("a", 0), Tier("b", 300), Tier("c", 600), Tier("d", 1000))
LADDERS = st.builds(
    Ladder, tiers=st.just(TIERS),
    window=st.sampled_from(list(WindowKind)), rolling_days=st.integers(7, 120),
    time_zone=st.sampled_from(["UTC", "Asia/Seoul", "America/New_York"]), grace_days=st.integers(0, 20))
MINUTES = st.integers(0, 400 * 24 * 60)
ACTIVITY = st.builds(lambda minute, spend: Activity(START + timedelta(minutes=minute), spend=spend),
                     MINUTES, st.integers(-300, 700).filter(bool))


def fixed(ladder: Ladder) -> Ladder:
    return ladder if ladder.window is WindowKind.ROLLING else Ladder(
        ladder.tiers, ladder.metric, ladder.window, 0, ladder.time_zone, ladder.grace_days)


@st.composite
def histories(draw: st.DrawFn) -> tuple[Ladder, list[Activity], list[int]]:
    """A ladder, a log and the minutes to evaluate at. Some of the minutes fall on or next
    to an activity or the instant a rolling window lets it go (N days later): random
    minutes seldom hit those boundaries, where mistakes of inclusivity show."""
    ladder = fixed(draw(LADDERS))
    log = draw(st.lists(ACTIVITY, max_size=30))
    days = ladder.rolling_days * 24 * 60
    edges = sorted({(a.at - START) // timedelta(minutes=1) + k * days for a in log for k in (0, 1)})
    near = st.builds(lambda edge, off: max(0, edge + off), st.sampled_from(edges), st.integers(-1, 1)) \
        if edges else MINUTES
    return ladder, log, draw(st.lists(st.one_of(MINUTES, near), min_size=1, max_size=8))


@settings(max_examples=150, deadline=None)
@given(histories())
def test_upgrades_never_wait_and_downgrades_wait_for_the_window_end(
        history: tuple[Ladder, list[Activity], list[int]]) -> None:
    ladder, log, steps = history
    standing = initial(ladder, START)
    grace = timedelta(days=ladder.grace_days)
    all_changes = []
    for minute in sorted(steps):
        at = START + timedelta(minutes=minute)
        standing, changes = advance(ladder, standing, log, at)
        all_changes += changes
        # Upgrades never wait: the tier is at least what the window so far qualifies for.
        assert ladder.rank(standing.tier) >= ladder.rank(ladder.qualifying(so_far(ladder, log, at)[1]).name)
    assert [c.at for c in all_changes] == sorted(c.at for c in all_changes)  # a history in time order
    for change in all_changes:
        if change.reason is Reason.DOWNGRADE:
            # Only at the end of the reviewed window, plus the grace; never inside a window.
            assert change.at == change.window.end + grace
            assert ladder.rank(change.to_tier) < ladder.rank(change.from_tier)
            # ... and never below what the finished window qualified for.
            assert ladder.rank(change.to_tier) >= ladder.rank(ladder.qualifying(change.metric).name)
        if change.reason is Reason.UPGRADE:
            assert ladder.rank(change.to_tier) > ladder.rank(change.from_tier)
            if ladder.window is not WindowKind.ROLLING:
                assert window_at(ladder, change.at).start <= change.window.start


# Found by this property: the refund leaves the 61 days at 3 March 00:00 (87,840 minutes),
# and the 300 left in them must upgrade whether or not an evaluation falls on that instant.
@example((Ladder(TIERS, window=WindowKind.ROLLING, rolling_days=61),
          [Activity(START, spend=-1), Activity(START + timedelta(minutes=1), spend=299),
           Activity(START + timedelta(days=30), spend=1)], [87840, 87841]))
@settings(max_examples=150, deadline=None)
@given(histories())
def test_step_by_step_is_the_same_as_at_once(history: tuple[Ladder, list[Activity], list[int]]) -> None:
    ladder, log, steps = history
    stepwise, changes = initial(ladder, START), []
    for minute in sorted(steps):
        at = START + timedelta(minutes=minute)
        # The activity before `needed_from` (what the storage does not read) changes nothing.
        needed = [a for a in log if a.at >= needed_from(ladder, stepwise, at)]
        assert advance(ladder, stepwise, needed, at) == advance(ladder, stepwise, log, at)
        stepwise, more = advance(ladder, stepwise, log, at)
        changes += more
    once, all_at_once = advance(ladder, initial(ladder, START), log, START + timedelta(minutes=max(steps)))
    assert (stepwise, changes) == (once, all_at_once)
    assert advance(ladder, once, log, once.evaluated_at) == (once, [])  # idempotent
