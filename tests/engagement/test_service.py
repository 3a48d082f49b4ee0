"""EngagementService on both databases: a member's March in the example program, by hand.

The example program (rules/examples/market.yaml) has:
  first-purchase-coupon  a design-10 coupon (10% off, at most 5,000 KRW; 1 per member) and
                         the badge first-order with the first completed purchase;
  three-this-month       3 purchases in a calendar month -> 500 points and badge regular;
  design-quarter         50,000 KRW of design items in a quarter -> a design-10 coupon and
                         badge design-patron;
  weekly-streak          a purchase in each of 4 consecutive weeks, once -> 1,000 points and
                         a thank-you-500 coupon (500 points when redeemed)."""

from __future__ import annotations

from datetime import datetime
from itertools import count

import pytest

from dangol.domain import FixedClock
from dangol.domain.errors import Conflict, IdempotencyConflict
from dangol.rules import ruleset_hash
from dangol.service.container import Services
from dangol.service.engagement import UnknownCoupon
from dangol.storage import tables as t

from .support import KST, MARKET, enrol, purchase, record


@pytest.fixture
def codes(services: Services) -> list[str]:
    """Coupon codes C1, C2, ... in issue order."""
    numbers = count(1)
    services.engagement.codes = lambda: f"C{next(numbers)}"
    return []


def test_a_month_of_purchases(services: Services, program_id: str, codes: list[str]) -> None:
    m = enrol(services, program_id, "customer-1")
    # Mon 3 March: the first purchase, 30,000 KRW of design.
    first = record(services, program_id, m, purchase(30_000, [("design", 30_000)]), datetime(2025, 3, 3, 10, tzinfo=KST),
                   first_purchase=True)
    assert [(c["code"], c["template"], c["state"]) for c in first["coupons"]] == [("C1", "design-10", "issued")]
    assert first["coupons"][0]["expires_at"] == "2025-04-02T01:00:00Z"  # 30 days after 10:00 KST
    assert [b["badge"] for b in first["badges"]] == ["first-order"]
    progress = {c["challenge"]: (c["progress"], c["target"], c["completed"]) for c in first["challenges"]}
    assert progress == {"design-quarter": (30_000, 50_000, False), "three-this-month": (1, 3, False),
                        "weekly-streak": (1, 4, False)}

    # Mon 10 March: 40,000 KRW, of which 25,000 design -> design 55,000 >= 50,000: completed.
    # Its coupon reward is a second design-10, but a member may hold one: withheld. The badge is given.
    second = record(services, program_id, m, purchase(40_000, [("design", 25_000), ("writing", 15_000)]),
                    datetime(2025, 3, 10, 10, tzinfo=KST))
    design = next(c for c in second["challenges"] if c["challenge"] == "design-quarter")
    assert (design["progress"], design["completed"], design["period"]) == (55_000, True, "2025-Q1")
    assert design["rewards"] == {"points": 0, "badge": "design-patron", "coupon": None}
    assert second["coupons"] == [] and "design-10" in second["withheld"][0]["reason"]

    # Mon 17 March: the 3rd purchase this month -> 500 points and badge regular.
    third = record(services, program_id, m, purchase(5_000), datetime(2025, 3, 17, 10, tzinfo=KST))
    assert [(p["rule_id"], p["points"]) for p in third["points"]] == [("challenge:three-this-month", 500)]
    assert [b["badge"] for b in third["badges"]] == ["regular"]

    # Sun 30 March (week 13; weeks 10, 11, 12, 13): the 4-week streak -> 1,000 points and coupon C2.
    # Also a 4th purchase this month: three-this-month stays completed, nothing more.
    fourth = record(services, program_id, m, purchase(5_000), datetime(2025, 3, 30, 23, tzinfo=KST))
    assert [(p["rule_id"], p["points"]) for p in fourth["points"]] == [("challenge:weekly-streak", 1_000)]
    assert [(c["code"], c["template"]) for c in fourth["coupons"]] == [("C2", "thank-you-500")]
    three = next(c for c in fourth["challenges"] if c["challenge"] == "three-this-month")
    assert (three["progress"], three["completed"]) == (4, False)

    # Points: 500 + 1,000 = 1,500, each an earn naming its challenge and the ruleset's hash.
    assert services.reader.balance(program_id, m)["available"] == 1_500
    with services.db.read() as conn:
        earns = conn.execute(t.transactions.select().where(t.transactions.c.member_id == m)
                             .order_by(t.transactions.c.id)).all()
    assert [(e.rule_id, e.points, e.ruleset_hash) for e in earns if e.kind == "earn"] == [
        ("challenge:three-this-month", 500, ruleset_hash(MARKET)), ("challenge:weekly-streak", 1_000, ruleset_hash(MARKET))]

    # What the member sees.
    assert [b["badge"] for b in services.engagement.badges(program_id, m)] == ["first-order", "design-patron", "regular"]
    listed = {(c["challenge"], c["period"]): (c["progress"], c["target"], c["completions"])
              for c in services.engagement.challenges(program_id, m)}
    assert listed == {("design-quarter", "2025-Q1"): (55_000, 50_000, 1), ("three-this-month", "2025-03"): (4, 3, 1),
                      ("weekly-streak", "streak"): (0, 4, 1)}  # a completed streak starts again at 0

    # Four more weeks of purchases in April: the streak is `once`, so no second streak reward;
    # three-this-month is per period, so April's 3rd purchase (the 21st) earns 500 more.
    for day in (7, 14, 21, 28):
        later = record(services, program_id, m, purchase(1_000), datetime(2025, 4, day, 10, tzinfo=KST))
        assert all(c["challenge"] != "weekly-streak" for c in later["challenges"])
        assert [p["points"] for p in later["points"]] == ([500] if day == 21 else [])
    assert services.reader.balance(program_id, m)["available"] == 1_500 + 500


def test_a_badge_is_awarded_once(services: Services, program_id: str, codes: list[str]) -> None:
    m = enrol(services, program_id, "customer-2")
    at = datetime(2025, 3, 3, 10, tzinfo=KST)
    assert [b["badge"] for b in record(services, program_id, m, purchase(1_000), at, first_purchase=True)["badges"]] == ["first-order"]
    # A second first-purchase evaluation (say, a rule firing again) awards no second badge,
    # and the per-member limit of design-10 holds back a second coupon.
    again = record(services, program_id, m, purchase(1_000, order="o2"), at, first_purchase=True)
    assert again["badges"] == [] and again["coupons"] == []
    assert len(services.engagement.badges(program_id, m)) == 1


def test_redeeming_coupons(services: Services, program_id: str, codes: list[str], clock: FixedClock) -> None:
    clock.set(datetime(2025, 3, 25, 12, tzinfo=KST))  # within both coupons' validity
    m = enrol(services, program_id, "customer-3")
    record(services, program_id, m, purchase(30_000, [("design", 30_000)]), datetime(2025, 3, 3, 10, tzinfo=KST),
           first_purchase=True)  # C1: design-10
    for day in (10, 17, 24):  # weeks 11, 12, 13 -> the streak completes on the 24th: C2, thank-you-500
        record(services, program_id, m, purchase(1_000), datetime(2025, 3, day, 10, tzinfo=KST))
    engagement = services.engagement
    # design-10 on a 34,567 KRW order: 10% = 3,456.7 -> 3,456 off (under the 5,000 cap).
    receipt = engagement.redeem_coupon(program_id, "C1", "k1", order_amount=34_567)
    assert receipt["discount"] == 3_456 and receipt["coupon"]["state"] == "redeemed"
    assert engagement.redeem_coupon(program_id, "C1", "k1", order_amount=34_567) == receipt  # a retry
    with pytest.raises(IdempotencyConflict):
        engagement.redeem_coupon(program_id, "C1", "k1", order_amount=1)
    with pytest.raises(Conflict, match="already redeemed"):
        engagement.redeem_coupon(program_id, "C1", "k2")
    # thank-you-500 credits 500 points: 500 (3 purchases in March) + 1,000 (streak) + 500.
    before = services.reader.balance(program_id, m)["available"]
    points = engagement.redeem_coupon(program_id, "C2", "k3")
    assert points["points"]["transaction"]["points"] == 500
    assert services.reader.balance(program_id, m)["available"] == before + 500 == 2_000
    with pytest.raises(UnknownCoupon):
        engagement.redeem_coupon(program_id, "NOPE", "k4")
    states = {c["code"]: c["state"] for c in engagement.coupons(program_id, m)}
    assert states == {"C1": "redeemed", "C2": "redeemed"}


def test_an_expired_coupon_cannot_be_redeemed(services: Services, program_id: str, codes: list[str]) -> None:
    m = enrol(services, program_id, "customer-4")
    # Issued 3 March 2025, valid 30 days; the test clock reads 1 January 2026.
    record(services, program_id, m, purchase(1_000), datetime(2025, 3, 3, 10, tzinfo=KST), first_purchase=True)
    assert [c["state"] for c in services.engagement.coupons(program_id, m)] == ["expired"]
    with pytest.raises(Conflict, match="expired"):
        services.engagement.redeem_coupon(program_id, "C1", "k1")
    assert [c["state"] for c in services.engagement.coupons(program_id, m)] == ["expired"]
