"""The example program (src/dangol/rules/examples/market.yaml) on worked examples. Every
figure is worked out by hand in the comments; amounts are KRW (no minor unit). Members
live in Asia/Seoul (UTC+9, no daylight saving). The launch week is 3-9 March 2025 in the
member's local dates."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dangol.rules import Beneficiary, Event, MemberState, OrderFacts, evaluate, ruleset_hash
from dangol.rules.loader import load_example

RULES = load_example()
SEOUL = "Asia/Seoul"
ENROLLED = datetime(2025, 3, 1, tzinfo=timezone.utc)
IN_LAUNCH_WEEK = datetime(2025, 3, 5, 3, 0, tzinfo=timezone.utc)  # Wed 5 March, 12:00 in Seoul
AFTER_LAUNCH_WEEK = datetime(2025, 3, 12, 3, 0, tzinfo=timezone.utc)  # Wed 12 March, 12:00 in Seoul


def member(**changes: object) -> MemberState:
    return MemberState(**{"member_id": "m1", "enrolled_at": ENROLLED, "time_zone": SEOUL, "tier": "새싹", **changes})  # type: ignore[arg-type]


def purchase(amount: int, **changes: object) -> Event:
    return Event(**{"type": "purchase", "amount": amount, "currency": "KRW", "order_id": "o1", **changes})  # type: ignore[arg-type]


def by_rule(evaluation: object) -> dict[str, int]:
    totals: dict[str, int] = {}
    for award in evaluation.points:  # type: ignore[attr-defined]
        if award.to is Beneficiary.MEMBER:
            totals[award.rule_id] = totals.get(award.rule_id, 0) + award.points
    return totals


def test_the_example_has_a_stable_hash() -> None:
    # Pinned: any change to market.yaml's meaning must change this (and be deliberate).
    assert ruleset_hash(RULES) == ruleset_hash(load_example())
    assert ruleset_hash(RULES).startswith("sha256:") and len(ruleset_hash(RULES)) == 7 + 64


def test_an_ordinary_purchase_after_the_launch_week() -> None:
    # A 열매 member buys for 12,345 KRW, her first purchase of the month but not ever:
    #   base-earn   12,345 x 5 / 100 = 617.25 -> 617 (floor)
    #   tier:열매   12,345 x 1 / 100 = 123.45 -> 123
    #   total 740; no launch week, no first purchase, fewer than 3 purchases this month.
    result = evaluate(RULES, purchase(12_345), member(tier="열매", purchases_total=4), {}, AFTER_LAUNCH_WEEK)
    assert by_rule(result) == {"base-earn": 617, "tier:열매": 123}
    assert result.points_for("m1") == 740
    assert result.counters == () and result.withheld == ()


def test_a_referred_first_purchase_by_a_forest_member_in_the_launch_week() -> None:
    # A 숲 member with 3 purchases earlier this month (a gift card, say) makes her first
    # completed purchase, 30,000 KRW, referred by m0, on Wednesday of the launch week:
    #   base-earn       30,000 x 5% = 1,500
    #   first-purchase  1,000
    #   referral        1,000 to m1, and 1,000 to m0
    #   frequent-buyer  30,000 x 2% =   600
    #   tier:숲         30,000 x 3% =   900
    #   launch-week     x2 of what the base rules gave m1: (1,500+1,000+1,000+600+900) = 5,000 more
    #   m1: 5,000 + 5,000 = 10,000; m0: 1,000 (the multiplier never doubles the referrer's share).
    result = evaluate(RULES, purchase(30_000, referrer="m0"),
                      member(tier="숲", purchases_this_month=3, first_purchase=True), {}, IN_LAUNCH_WEEK)
    assert by_rule(result) == {"base-earn": 1_500, "first-purchase": 1_000, "referral": 1_000,
                               "frequent-buyer": 600, "tier:숲": 900, "launch-week": 5_000}
    assert result.points_for("m1") == 10_000
    assert result.points_for("m0") == 1_000
    # Evaluation order: priorities 100, 90, 80, 70, 63, then the multiplier phase; `fired`
    # lists the rules that gave points first, then first-purchase-coupon (a coupon, a badge).
    assert result.fired == ("base-earn", "first-purchase", "referral", "frequent-buyer", "tier:숲",
                            "launch-week", "first-purchase-coupon")
    assert [c.template for c in result.coupons] == ["design-10"]
    assert [b.badge for b in result.badges] == ["first-order"]
    assert [(c.key, c.amount) for c in result.counters] == [("program/launch-week/budget/points", 5_000)]


def test_self_referral_earns_nothing_for_the_referral() -> None:
    # m1 names herself as referrer: the referral rule's condition is false, so only
    #   base-earn 20,000 x 5% = 1,000 and first-purchase 1,000 -> 2,000 (after the launch week).
    result = evaluate(RULES, purchase(20_000, referrer="m1"), member(first_purchase=True), {}, AFTER_LAUNCH_WEEK)
    assert by_rule(result) == {"base-earn": 1_000, "first-purchase": 1_000}


@pytest.mark.parametrize(("utc", "doubled"), [
    (datetime(2025, 3, 2, 14, 59, tzinfo=timezone.utc), False),  # 2 March 23:59 in Seoul: before
    (datetime(2025, 3, 2, 15, 0, tzinfo=timezone.utc), True),  # 3 March 00:00 in Seoul: the first minute
    (datetime(2025, 3, 9, 14, 59, tzinfo=timezone.utc), True),  # 9 March 23:59 in Seoul: the last minute
    (datetime(2025, 3, 9, 15, 0, tzinfo=timezone.utc), False),  # 10 March 00:00 in Seoul: over
])
def test_the_launch_week_is_in_the_members_local_dates(utc: datetime, doubled: bool) -> None:
    # 10,000 KRW by a 새싹 member: base-earn 10,000 x 5% = 500; doubled: 500 more -> 1,000.
    result = evaluate(RULES, purchase(10_000), member(purchases_total=2), {}, utc)
    assert result.points_for("m1") == (1_000 if doubled else 500)


def test_the_launch_week_bonus_is_capped_per_purchase() -> None:
    # A 1,000,000 KRW purchase by a 숲 member (not a first purchase, no purchases this month):
    #   base-earn 50,000 + tier:숲 30,000 = 80,000; doubling would add 80,000,
    #   but launch-week gives at most 20,000 per event: 60,000 withheld; total 100,000.
    result = evaluate(RULES, purchase(1_000_000), member(tier="숲", purchases_total=9), {}, IN_LAUNCH_WEEK)
    assert by_rule(result) == {"base-earn": 50_000, "tier:숲": 30_000, "launch-week": 20_000}
    assert [(w.rule_id, w.points) for w in result.withheld] == [("launch-week", 60_000)]


def test_the_launch_week_budget_stops_awarding_when_spent() -> None:
    # 9,999,800 of the 10,000,000 budget is spent: a 10,000 KRW purchase (base 500) gets
    # only the 200 left of its 500 doubling; 300 withheld; the budget is then exactly spent.
    counters = {"program/launch-week/budget/points": 9_999_800}
    result = evaluate(RULES, purchase(10_000), member(purchases_total=1), counters, IN_LAUNCH_WEEK)
    assert by_rule(result) == {"base-earn": 500, "launch-week": 200}
    assert [(w.rule_id, w.points) for w in result.withheld] == [("launch-week", 300)]
    spent = {"program/launch-week/budget/points": 10_000_000}
    assert evaluate(RULES, purchase(10_000), member(purchases_total=1), spent, IN_LAUNCH_WEEK).points_for("m1") == 500


def test_welcome_points_on_signup() -> None:
    result = evaluate(RULES, Event("signup"), member(), {}, IN_LAUNCH_WEEK)
    assert by_rule(result) == {"welcome": 1_000}  # the launch-week multiplier is on purchases only


MY_ORDER = OrderFacts(exists=True, mine=True, amount=12_000)


def test_reviews_earn_once_per_order_and_five_times_a_month() -> None:
    review = Event("review", order_id="o1")
    first = evaluate(RULES, review, member(), {}, AFTER_LAUNCH_WEEK, MY_ORDER)
    assert by_rule(first) == {"review": 100}
    assert {c.key: c.amount for c in first.counters} == {"member/review/order/o1/times": 1,
                                                         "member/review/month/2025-03/times": 1}
    # The same order again: the per-order cap (1) is used up, nothing more.
    counters = {c.key: c.amount for c in first.counters}
    again = evaluate(RULES, review, member(), counters, AFTER_LAUNCH_WEEK, MY_ORDER)
    assert again.points == () and again.withheld[0].reason == "cap: 1 time(s) per order"
    # A sixth review in March (another order): the monthly cap (5) is used up.
    busy = {"member/review/month/2025-03/times": 5}
    assert evaluate(RULES, Event("review", order_id="o6"), member(), busy, AFTER_LAUNCH_WEEK, MY_ORDER).points == ()
    # In April the month starts over (1 April 00:30 in Seoul is still 31 March in UTC).
    april = datetime(2025, 3, 31, 15, 30, tzinfo=timezone.utc)
    assert by_rule(evaluate(RULES, Event("review", order_id="o6"), member(), busy, april, MY_ORDER)) == {"review": 100}
    # A review with no order id is not rewarded (the rule's condition).
    assert evaluate(RULES, Event("review"), member(), {}, AFTER_LAUNCH_WEEK).points == ()


@pytest.mark.parametrize("order", [
    OrderFacts(),  # no such order
    OrderFacts(exists=True),  # another member's order
    OrderFacts(exists=True, mine=True, refunded=True, amount=12_000),  # refunded in full
])
def test_reviews_of_orders_not_ones_own_or_refunded_earn_nothing(order: OrderFacts) -> None:
    assert evaluate(RULES, Event("review", order_id="o1"), member(), {}, AFTER_LAUNCH_WEEK, order).points == ()


def test_the_review_bonus_is_not_the_orders_to_take_back() -> None:
    # The reward is for the review: its points are marked so a refund of the order keeps them.
    [award] = evaluate(RULES, Event("review", order_id="o1"), member(), {}, AFTER_LAUNCH_WEEK, MY_ORDER).points
    assert (award.rule_id, award.points, award.refundable) == ("review", 100, False)
    assert all(a.refundable for a in evaluate(RULES, purchase(12_000), member(), {}, AFTER_LAUNCH_WEEK).points)


def test_frequent_buyers_from_the_fourth_purchase_of_the_month() -> None:
    # purchases_this_month counts purchases before this one: with 2 earlier, this is the
    # third: 5% only (50,000 x 5% = 2,500); with 3 earlier, +2%: 2,500 + 1,000 = 3,500.
    assert evaluate(RULES, purchase(50_000), member(purchases_this_month=2), {}, AFTER_LAUNCH_WEEK).points_for("m1") == 2_500
    assert evaluate(RULES, purchase(50_000), member(purchases_this_month=3), {}, AFTER_LAUNCH_WEEK).points_for("m1") == 3_500


@pytest.mark.parametrize(("tier", "points"), [("새싹", 5_000), ("열매", 6_000), ("나무", 7_000), ("숲", 8_000)])
def test_tier_earn_rates(tier: str, points: int) -> None:
    # 100,000 KRW: 5% base = 5,000, plus 0 / 1,000 / 2,000 / 3,000 for 새싹 / 열매 / 나무 / 숲.
    assert evaluate(RULES, purchase(100_000), member(tier=tier), {}, AFTER_LAUNCH_WEEK).points_for("m1") == points
