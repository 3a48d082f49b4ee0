"""The example's review bonus: only for a review of one's own order that was not refunded in
full (the rules' order facts), and kept when the order is refunded later (the bonus is for
the review, not the purchase), in single events, batches and replay alike."""

from __future__ import annotations

from datetime import datetime, timezone

from dangol.domain import FixedClock, Money
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.service.replay import ReplayCheck

AFTER_LAUNCH = datetime(2025, 3, 20, 3, tzinfo=timezone.utc)


def _members(services: Services, clock: FixedClock) -> None:
    for name in ("ann", "ben"):
        services.events.record("market", EventInput(f"s-{name}", "signup", member_id=f"m_{name}", external_ref=name))
    clock.set(AFTER_LAUNCH)


def _review_points(result: dict) -> int:  # type: ignore[type-arg]
    return sum(p["points"] for p in result["effects"]["points"] if p["rule_id"] == "review")


def test_only_a_review_of_ones_own_unrefunded_order_earns(services: Services, published: str,
                                                          clock: FixedClock) -> None:
    _members(services, clock)
    record = services.events.record
    record("market", EventInput("p-ann", "purchase", "m_ann", amount=Money(20000, "KRW"), order_id="o-ann"))
    record("market", EventInput("p-ben", "purchase", "m_ben", amount=Money(10000, "KRW"), order_id="o-ben"))
    record("market", EventInput("r-ben", "refund", "m_ben", order_id="o-ben"))  # in full
    assert _review_points(record("market", EventInput("v-1", "review", "m_ann", order_id="o-nowhere"))) == 0
    assert _review_points(record("market", EventInput("v-2", "review", "m_ben", order_id="o-ann"))) == 0
    assert _review_points(record("market", EventInput("v-3", "review", "m_ben", order_id="o-ben"))) == 0
    assert _review_points(record("market", EventInput("v-4", "review", "m_ann", order_id="o-ann"))) == 100
    assert ReplayCheck(services).run("market").ok


def test_a_full_refund_takes_back_the_purchase_but_not_the_review_bonus(services: Services, published: str,
                                                                       clock: FixedClock) -> None:
    _members(services, clock)
    record = services.events.record
    bought = record("market", EventInput("p-1", "purchase", "m_ann", amount=Money(20000, "KRW"), order_id="o1"))
    # 1,000 welcome; the purchase: base 1,000 and first-purchase 1,000.
    assert bought["balance"]["available"] == 3_000
    reviewed = record("market", EventInput("v-1", "review", "m_ann", order_id="o1"))
    assert _review_points(reviewed) == 100 and reviewed["balance"]["available"] == 3_100
    refunded = record("market", EventInput("r-1", "refund", "m_ann", order_id="o1"))
    assert refunded["reversal"]["refund"] == {"amount": 20000, "full": True}
    # The purchase's 2,000 points go back; the welcome and the review's 100 stay.
    assert refunded["balance"]["available"] == 1_100
    # A review of the refunded order (say, a second one) earns nothing.
    assert _review_points(record("market", EventInput("v-2", "review", "m_ann", order_id="o1"))) == 0
    report = ReplayCheck(services).run("market")
    assert report.ok, report.differences


def test_a_review_after_its_purchase_in_the_same_batch_earns(services: Services, published: str,
                                                             clock: FixedClock) -> None:
    _members(services, clock)
    results = services.events.record_many("market", [
        EventInput("v-0", "review", "m_ann", order_id="o1"),  # before the purchase: no such order yet
        EventInput("p-1", "purchase", "m_ann", amount=Money(20000, "KRW"), order_id="o1"),
        EventInput("v-1", "review", "m_ben", order_id="o1"),  # not his
        EventInput("v-2", "review", "m_ann", order_id="o1"),
    ])
    assert [_review_points(r) for r in results] == [0, 0, 0, 100]  # type: ignore[arg-type]
    assert ReplayCheck(services).run("market").ok
