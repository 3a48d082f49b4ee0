"""`replay --check` makes the ledger's requests again beside the events, in the order they
were made, and lets the ledger decide again what follows from them: whether a gift was
allowed by the sender's tier then, what a refund claws back (counting one that collected
nothing), what a coupon credits. The year in tests/e2e/test_replay_every_movement.py has
every kind of movement; these are the cases between the lines."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from dangol.domain import EarnRate, FixedClock, Money, ProgramPolicy
from dangol.domain.commands import Adjust, Earn, Redeem, Reverse, Transfer
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.service.ledger import Operation
from dangol.service.replay import ReplayCheck
from dangol.storage import tables as t

from .conftest import KST, MARKET

GIFTING = ProgramPolicy(earn_rate=EarnRate(points=5, per_minor_units=100), allow_transfers=True)


@pytest.fixture
def gifting(services: Services, clock: FixedClock) -> str:
    """The example program with transfers allowed: its ladder makes gifting 숲's benefit."""
    services.programs.create_program("market", "Talent market", "KRW", GIFTING)
    services.rulesets.set_policy("market", 30, KST)
    services.rulesets.publish("market", MARKET)
    clock.set(datetime(2025, 3, 1, 0, 0, tzinfo=timezone.utc))
    return "market"


def _signups(services: Services, *names: str) -> None:
    for name in names:
        services.events.record("market", EventInput(f"s-{name}", "signup", member_id=f"m_{name}", external_ref=name))


def test_requests_and_events_at_one_instant_replay_in_the_order_they_were_made(
        services: Services, published: str, clock: FixedClock) -> None:
    """The clock never moves: the transactions' ids place the requests among the events."""
    record = services.events.record
    _signups(services, "ann")  # 1,000 welcome points
    services.ledger.run("market", Redeem("m_ann", 1_000), "redeem-1")  # all of them
    record("market", EventInput("p-1", "purchase", "m_ann", amount=Money(40_000, "KRW"), order_id="o1"))
    services.ledger.run("market", Redeem("m_ann", 1_500), "redeem-2")  # needs the purchase's points
    services.ledger.run("market", Adjust("m_ann", -500, "duplicate"), "adjust-1")
    record("market", EventInput("r-1", "refund", "m_ann", order_id="o1"))  # claws back what is left
    report = ReplayCheck(services).run("market")
    assert report.ok, report.differences
    # The welcome, the purchase's one earn (base and first-purchase), the refund's clawback; the
    # two redemptions and the adjustment.
    assert report.causes == {"events": 3, "requests": 3}


def test_a_gift_is_allowed_again_by_the_sender_s_tier_at_the_time(services: Services, gifting: str,
                                                                   clock: FixedClock) -> None:
    _signups(services, "ann", "bea")
    clock.set(datetime(2025, 3, 20, 1, tzinfo=timezone.utc))
    services.events.record("market", EventInput("p-1", "purchase", "m_ann", amount=Money(1_000_000, "KRW"),
                                                order_id="o1"))  # 숲 at once: she may gift
    services.ledger.run("market", Transfer("m_ann", "m_bea", 2_000, "thanks"), "gift-1")
    report = ReplayCheck(services).run("market")
    assert report.ok, report.differences
    # A gift from Bea (새싹), written past the gifting check as if it were history, is not history.
    forged = services.ledger.execute("market", [Operation(Transfer("m_bea", "m_ann", 1_000), "gift-2")],
                                     stop_on_error=True, history=True)[0]
    assert not isinstance(forged, Exception)
    report = ReplayCheck(services).run("market")
    assert report.differences == [
        f"transaction {forged['transaction']['id']} (transfer of 1000 points, m_bea, at 2025-03-20T01:00:00Z): "
        "replaying it is refused: only members of tier 숲 may gift points; member m_bea is 새싹"]


def test_a_refund_that_collected_nothing_counts_for_the_next_one(services: Services, published: str,
                                                                 clock: FixedClock) -> None:
    """Ann spends what a shop order earned; the first partial return collects nothing (no
    negative balances) but is the order's: the second return claws back only the rest."""
    _signups(services, "ann")
    run = services.ledger.run
    start = clock.now()
    run("market", Earn("m_ann", money=Money(30_000, "KRW"), order_ref="shop-1"), "earn-1")  # 1,500
    clock.set(start + timedelta(hours=1))
    run("market", Redeem("m_ann", 2_500), "redeem-1")  # the welcome 1,000 and the order's 1,500
    clock.set(start + timedelta(hours=2))
    first = run("market", Reverse("m_ann", "shop-1", Money(10_000, "KRW")), "return-1")
    assert (first["refund"]["clawed_back"], first["refund"]["uncollected"], first["transaction"]) == (0, 500, None)
    clock.set(start + timedelta(hours=3))
    run("market", Earn("m_ann", points=2_000, reason="goodwill"), "earn-2")
    clock.set(start + timedelta(hours=4))
    second = run("market", Reverse("m_ann", "shop-1", Money(10_000, "KRW")), "return-2")
    assert second["refund"]["clawed_back"] == 1_000 - 500  # ⌊1,500 × 20,000 / 30,000⌋, less the 500 counted
    report = ReplayCheck(services).run("market")
    assert report.ok, report.differences
    with services.db.write() as conn:  # the first return edited to have collected nothing at all
        conn.execute(update(t.refunds).where(t.refunds.c.transaction_id.is_(None)).values(uncollected=0))
    report = ReplayCheck(services).run("market")
    assert report.differences == [
        "refund 1 of m_ann (order, money, clawed back, uncollected, time, transaction): recorded ('shop-1', "
        "(10000, 'KRW'), 0, 0, '2025-03-01T02:00:00Z', None); replaying the ledger gives ('shop-1', (10000, 'KRW'), "
        "0, 500, '2025-03-01T02:00:00Z', None)"]


def test_an_earn_that_names_a_coupon_no_one_redeemed_is_named(services: Services, published: str) -> None:
    _signups(services, "ann")
    forged = services.ledger.run("market", Earn("m_ann", points=500, rule_id="coupon:thank-you-500",
                                                reason="coupon NOPE"))
    report = ReplayCheck(services).run("market")
    assert report.differences == [
        f"transaction {forged['transaction']['id']} (earn of 500 points, m_ann, at 2025-03-01T00:00:00Z) names "
        "coupon:thank-you-500, but no points coupon 'NOPE' of that member was redeemed for it"]
