"""The example ladder (market.yaml) on hand-worked cases: 새싹 0, 열매 300,000, 나무 600,000,
숲 1,000,000 KRW of spend per calendar quarter in Asia/Seoul (UTC+9, no daylight saving),
14 days of grace before a downgrade. Q2 2025 runs from 1 April 00:00 KST (31 March 15:00
UTC) to 1 July 00:00 KST (30 June 15:00 UTC)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dangol.rules.loader import load_example
from dangol.tiers import Activity, Ladder, Reason, Tier, WindowKind, advance, progress, tier_at
from dangol.tiers.policy import initial, set_manually
from dangol.tiers.windows import window_at

LADDER = load_example().tiers
assert LADDER is not None
KST = timezone(timedelta(hours=9))
Q2_START = datetime(2025, 4, 1, tzinfo=KST)
Q3_START = datetime(2025, 7, 1, tzinfo=KST)
GRACE_END = datetime(2025, 7, 15, tzinfo=KST)  # Q3_START + 14 days


def buy(day: datetime, amount: int) -> Activity:
    return Activity(day, spend=amount, points=amount // 20, purchases=1)


def refund(day: datetime, amount: int) -> Activity:
    return Activity(day, spend=-amount, points=-(amount // 20))


def test_quarters_are_seoul_calendar_quarters() -> None:
    window = window_at(LADDER, datetime(2025, 5, 2, tzinfo=KST))
    assert (window.start, window.end) == (Q2_START, Q3_START)
    assert window.start == datetime(2025, 3, 31, 15, tzinfo=timezone.utc)


def test_crossing_two_thresholds_in_a_quarter_upgrades_at_once_each_time() -> None:
    # 10 April 200,000 (Q2 so far 200,000: still 새싹); 2 May 150,000 (350,000 >= 300,000:
    # 열매 at that instant); 20 May 300,000 (650,000 >= 600,000: 나무 at that instant).
    may2, may20 = datetime(2025, 5, 2, 14, tzinfo=KST), datetime(2025, 5, 20, 9, tzinfo=KST)
    log = [buy(datetime(2025, 4, 10, tzinfo=KST), 200_000), buy(may2, 150_000), buy(may20, 300_000)]
    standing, changes = advance(LADDER, initial(LADDER, Q2_START), log, datetime(2025, 6, 1, tzinfo=KST))
    assert [(c.from_tier, c.to_tier, c.reason, c.metric, c.at) for c in changes] == [
        ("새싹", "열매", Reason.UPGRADE, 350_000, may2), ("열매", "나무", Reason.UPGRADE, 650_000, may20)]
    assert standing.tier == "나무" and standing.since == may20
    # What she sees on 1 June: 650,000 this quarter, 350,000 to go to 숲 (1,000,000).
    view = progress(LADDER, standing, log, datetime(2025, 6, 1, tzinfo=KST))
    assert (view.tier.name, view.metric, view.next_tier and view.next_tier.name, view.remaining) == (
        "나무", 650_000, "숲", 350_000)
    assert view.window.end == Q3_START


def test_a_tier_is_kept_until_the_quarter_ends_plus_grace_then_follows_the_finished_quarter() -> None:
    # Q1: 650,000 (나무 on 10 March). Q2: only 350,000, which qualifies for 열매.
    # At the end of Q1 the tier is confirmed for Q2; at the end of Q2 (1 July) the quarter
    # falls short: a `grace` transition, 나무 kept until 15 July, then 열매.
    log = [buy(datetime(2025, 3, 10, tzinfo=KST), 650_000), buy(datetime(2025, 5, 5, tzinfo=KST), 350_000)]
    start = initial(LADDER, datetime(2025, 1, 1, tzinfo=KST))
    standing, changes = advance(LADDER, start, log, datetime(2025, 6, 30, 23, tzinfo=KST))
    assert standing.tier == "나무" and [c.reason for c in changes] == [Reason.UPGRADE]
    standing, changes = advance(LADDER, standing, log, datetime(2025, 7, 14, 23, tzinfo=KST))
    assert standing.tier == "나무" and standing.grace_until == GRACE_END
    assert [(c.reason, c.metric, c.at) for c in changes] == [(Reason.GRACE, 350_000, Q3_START)]
    assert tier_at(LADDER, standing, log, GRACE_END - timedelta(microseconds=1)).name == "나무"
    assert tier_at(LADDER, standing, log, GRACE_END).name == "열매"
    standing, changes = advance(LADDER, standing, log, GRACE_END)
    assert [(c.from_tier, c.to_tier, c.reason, c.metric, c.at) for c in changes] == [
        ("나무", "열매", Reason.DOWNGRADE, 350_000, GRACE_END)]
    assert standing.tier == "열매" and standing.window == window_at(LADDER, Q3_START)


def test_spending_in_the_grace_period_keeps_the_tier() -> None:
    # As above, but 610,000 on 3 July: Q3 so far already qualifies for 나무, so on 15 July
    # the member keeps 나무 (max of 열매 for Q2 and 나무 for Q3 so far); no downgrade.
    log = [buy(datetime(2025, 3, 10, tzinfo=KST), 650_000), buy(datetime(2025, 5, 5, tzinfo=KST), 350_000),
           buy(datetime(2025, 7, 3, tzinfo=KST), 610_000)]
    standing, changes = advance(LADDER, initial(LADDER, datetime(2025, 1, 1, tzinfo=KST)), log,
                                datetime(2025, 8, 1, tzinfo=KST))
    assert standing.tier == "나무" and [c.reason for c in changes] == [Reason.UPGRADE, Reason.GRACE]


def test_a_refund_lowers_the_metric_but_never_downgrades_inside_the_quarter() -> None:
    # 5 May 650,000 -> 나무 at once. 20 May a refund of 200,000: Q2 is now 450,000 (열매), but
    # the member keeps 나무 for the rest of Q2 and the grace, and is 열매 from 15 July.
    log = [buy(datetime(2025, 5, 5, tzinfo=KST), 650_000), refund(datetime(2025, 5, 20, tzinfo=KST), 200_000)]
    standing, changes = advance(LADDER, initial(LADDER, Q2_START), log, datetime(2025, 6, 30, tzinfo=KST))
    assert standing.tier == "나무" and progress(LADDER, standing, log, datetime(2025, 6, 30, tzinfo=KST)).metric == 450_000
    standing, changes = advance(LADDER, standing, log, GRACE_END)
    assert [(c.reason, c.to_tier, c.metric) for c in changes] == [
        (Reason.GRACE, "나무", 450_000), (Reason.DOWNGRADE, "열매", 450_000)]


def test_advancing_twice_to_the_same_instant_changes_nothing() -> None:
    # 숲 on 5 May; Q2 confirms it for Q3; Q3 (nothing spent) ends 1 October: grace until 15 October.
    log = [buy(datetime(2025, 5, 5, tzinfo=KST), 1_200_000)]
    at = datetime(2025, 10, 5, tzinfo=KST)
    once, changes = advance(LADDER, initial(LADDER, Q2_START), log, at)
    assert once.tier == "숲" and [c.reason for c in changes] == [Reason.UPGRADE, Reason.GRACE]
    again, more = advance(LADDER, once, log, at)
    assert again == once and more == []


def test_a_member_without_a_standing_is_evaluated_from_the_previous_quarter() -> None:
    # Nobody evaluated her in Q2; she spent 700,000 then. Looked at in Q3 (before the Q3
    # review), she holds 나무 since her purchase, confirmed for Q3 by the finished Q2.
    purchase = datetime(2025, 6, 3, tzinfo=KST)
    standing, changes = advance(LADDER, None, [buy(purchase, 700_000)], datetime(2025, 8, 1, tzinfo=KST))
    assert (standing.tier, standing.since) == ("나무", purchase) and [c.reason for c in changes] == [Reason.UPGRADE]
    assert standing.window == window_at(LADDER, Q3_START)


def test_the_worked_example_of_docs_rules_md() -> None:
    # 10 April 200,000; 2 May 150,000 (열매); 20 May 300,000 (나무); Q2 = 650,000 confirms 나무
    # for Q3; August 350,000: Q3 qualifies for 열매: grace on 1 October, 열매 on 15 October.
    log = [buy(datetime(2025, 4, 10, tzinfo=KST), 200_000), buy(datetime(2025, 5, 2, tzinfo=KST), 150_000),
           buy(datetime(2025, 5, 20, tzinfo=KST), 300_000), buy(datetime(2025, 8, 12, tzinfo=KST), 350_000)]
    standing, changes = advance(LADDER, initial(LADDER, Q2_START), log, datetime(2025, 10, 15, tzinfo=KST))
    assert [(c.to_tier, c.reason, c.metric, c.at.astimezone(KST).date().isoformat()) for c in changes] == [
        ("열매", Reason.UPGRADE, 350_000, "2025-05-02"), ("나무", Reason.UPGRADE, 650_000, "2025-05-20"),
        ("나무", Reason.GRACE, 350_000, "2025-10-01"), ("열매", Reason.DOWNGRADE, 350_000, "2025-10-15")]
    assert standing.tier == "열매"


def test_a_manual_tier_is_reviewed_at_the_end_of_its_window() -> None:
    # An operator makes a member 숲 on 10 May with nothing spent; Q2 ends short (0):
    # grace on 1 July, 새싹 on 15 July.
    may10 = datetime(2025, 5, 10, tzinfo=KST)
    standing, changes = set_manually(LADDER, initial(LADDER, Q2_START), [], "숲", may10)
    assert [(c.from_tier, c.to_tier, c.reason) for c in changes] == [("새싹", "숲", Reason.MANUAL)]
    standing, changes = advance(LADDER, standing, [], GRACE_END)
    assert [(c.reason, c.to_tier) for c in changes] == [(Reason.GRACE, "숲"), (Reason.DOWNGRADE, "새싹")]
    with pytest.raises(ValueError, match="no tier 'gold'"):
        set_manually(LADDER, standing, [], "gold", GRACE_END)


def test_a_grace_longer_than_a_rolling_window_keeps_the_history_in_order() -> None:
    # Rolling 7 days, 20 days of grace: silver (300) on 1 January. The 7 days to 8 January
    # hold those 300: silver is confirmed to 15 January; the next 7 days hold nothing: grace
    # from 15 January to 4 February, then bronze. The review after that is over the 7 days
    # from 4 February, never over a window that ended before the decision.
    ladder = Ladder((Tier("bronze", 0), Tier("silver", 300)), window=WindowKind.ROLLING, rolling_days=7,
                    grace_days=20)
    jan1 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    standing, changes = advance(ladder, initial(ladder, jan1), [Activity(jan1, spend=300)], jan1 + timedelta(days=60))
    assert [(c.reason, c.to_tier, c.at.date().isoformat()) for c in changes] == [
        (Reason.UPGRADE, "silver", "2025-01-01"), (Reason.GRACE, "silver", "2025-01-15"),
        (Reason.DOWNGRADE, "bronze", "2025-02-04")]
    assert standing.window.start >= datetime(2025, 2, 4, tzinfo=timezone.utc)


# A rolling window at an instant holds the last N days, `instant - N days < at <= instant`:
# an activity counts for exactly N days and is out of the window once it is N days old.
ROLLING = Ladder((Tier("bronze", 0), Tier("silver", 300)), window=WindowKind.ROLLING, rolling_days=30)
JAN1_NOON = datetime(2025, 1, 1, 12, tzinfo=timezone.utc)
JAN31_NOON = JAN1_NOON + timedelta(days=30)
TICK = timedelta(microseconds=1)


def test_a_rolling_window_counts_an_activity_for_exactly_n_days() -> None:
    log = [buy(JAN1_NOON, 100)]
    standing = advance(ROLLING, None, log, JAN1_NOON)[0]
    assert progress(ROLLING, standing, log, JAN1_NOON).metric == 100
    assert progress(ROLLING, standing, log, JAN31_NOON - TICK).metric == 100
    view = progress(ROLLING, standing, log, JAN31_NOON)
    assert view.metric == 0 and JAN1_NOON not in view.window and JAN31_NOON in view.window


def test_a_refund_leaving_a_rolling_window_upgrades_at_that_instant() -> None:
    # A refund of 100 on 1 January noon, a purchase of 350 on 10 January: 250, bronze. At 31
    # January noon the refund is 30 days old and out of the window: 350, silver at once,
    # though nothing happens at that instant.
    log = [refund(JAN1_NOON, 100), buy(datetime(2025, 1, 10, tzinfo=timezone.utc), 350)]
    start = initial(ROLLING, JAN1_NOON)
    assert tier_at(ROLLING, start, log, JAN31_NOON - TICK).name == "bronze"
    standing, changes = advance(ROLLING, start, log, datetime(2025, 2, 5, tzinfo=timezone.utc))
    assert [(c.to_tier, c.reason, c.metric, c.at) for c in changes] == [("silver", Reason.UPGRADE, 350, JAN31_NOON)]
    assert (standing.since, standing.window.end) == (JAN31_NOON, JAN31_NOON + timedelta(days=30))
    # Evaluated on the way, just before, at and just after that instant: the same history.
    stepwise, seen = start, []
    for at in (JAN31_NOON - TICK, JAN31_NOON, JAN31_NOON + TICK, datetime(2025, 2, 5, tzinfo=timezone.utc)):
        stepwise, more = advance(ROLLING, stepwise, log, at)
        seen += more
    assert (stepwise, seen) == (standing, changes)


def test_a_rolling_review_counts_its_first_instant_and_not_its_end() -> None:
    # Silver by 300 on 1 January noon: reviewed on 31 January noon over [1 January noon, 31
    # January noon). A refund of 300 at exactly 31 January noon belongs to the next window:
    # the finished one holds 300 and confirms silver (downgrade at the next review).
    log = [buy(JAN1_NOON, 300), refund(JAN31_NOON, 300)]
    standing, changes = advance(ROLLING, None, log, JAN31_NOON)
    assert standing.tier == "silver" and [c.reason for c in changes] == [Reason.UPGRADE]
    assert standing.window.start == JAN31_NOON
    later, more = advance(ROLLING, standing, log, JAN31_NOON + timedelta(days=30))
    assert [(c.reason, c.to_tier, c.metric) for c in more] == [(Reason.DOWNGRADE, "bronze", -300)]
