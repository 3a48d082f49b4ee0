"""Refunds claw back what an order earned: all of it, or in proportion to the money
refunded, so that partial refunds add up exactly to the points the order earned."""

from __future__ import annotations

import pytest

from dangol.domain import Account, LotSource, MemberLedger, MemberStatus, Money, MovementKind, TransactionKind
from dangol.domain.commands import Adjust, Earn, Redeem, Reverse, SetMemberStatus
from dangol.domain.errors import (
    CurrencyMismatch, InsufficientPoints, InvalidRequest, MemberNotActive, RefundExceedsOrder, UnknownOrder,
)

from .support import DAY, T0, Counter, balances, ledger, lots, postings, program, remaining


def krw(amount: int) -> Money:
    return Money(amount, "KRW")


def test_a_full_refund_claws_back_everything_the_order_earned(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", money=krw(20_000), order_ref="order-1"), T0, ids)   # 1,000 points
    lg.earn(Earn("m1", points=300), T0, ids)
    refund = lg.reverse(Reverse("m1", "order-1", reason="returned"), T0 + DAY, ids)
    assert (refund.clawed_back, refund.uncollected, refund.money) == (1_000, 0, krw(20_000))
    txn = lg.recorded.transactions[-1]
    assert txn.kind is TransactionKind.REVERSE and txn.id == refund.transaction_id and txn.reason == "returned"
    assert postings(txn) == {(Account.AVAILABLE, "m1"): -1_000, (Account.REVERSED, None): 1_000}
    assert remaining(lg) == [0, 300]  # taken from the order's own lot
    assert balances(lg) == (300, 0, 0, 0)
    with pytest.raises(RefundExceedsOrder):
        lg.reverse(Reverse("m1", "order-1"), T0 + DAY, ids)


def test_three_partial_refunds_add_up_to_the_points_earned(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", money=krw(10_000), order_ref="order-1"), T0, ids)   # 500 points
    # Each refund claws back floor(500 * refunded so far / 10,000) minus what is already back:
    #   3,333 won -> floor(166.65) = 166
    #   6,666 won -> floor(333.3)  = 333, so 167 more
    #  10,000 won -> 500, so the last 167: 166 + 167 + 167 = 500 exactly.
    clawed = [lg.reverse(Reverse("m1", "order-1", krw(amount)), T0 + DAY, ids).clawed_back
              for amount in (3_333, 3_333, 3_334)]
    assert clawed == [166, 167, 167] and sum(clawed) == 500
    assert balances(lg) == (0, 0, 0, 0)
    with pytest.raises(RefundExceedsOrder):
        lg.reverse(Reverse("m1", "order-1", krw(1)), T0 + DAY, ids)


def test_partial_refunds_of_an_order_with_an_odd_number_of_points(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", money=krw(140), order_ref="o"), T0, ids)  # 7 points
    first = lg.reverse(Reverse("m1", "o", krw(70)), T0, ids)      # floor(3.5) = 3
    rest = lg.reverse(Reverse("m1", "o"), T0, ids)                # the whole rest: 70 won, 4 points
    assert (first.clawed_back, rest.clawed_back, rest.money) == (3, 4, krw(70))


def test_a_refund_too_small_to_claw_back_a_point_is_still_recorded(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", money=krw(10_000), order_ref="o"), T0, ids)  # 500 points
    small = lg.reverse(Reverse("m1", "o", krw(10)), T0, ids)         # floor(0.5) = 0
    assert (small.clawed_back, small.transaction_id) == (0, None)
    assert lg.recorded.refunds[-1] == small
    rest = lg.reverse(Reverse("m1", "o", krw(9_990)), T0, ids)
    assert rest.clawed_back == 500


def test_a_refund_cannot_exceed_what_is_left_of_the_order(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", money=krw(10_000), order_ref="o"), T0, ids)
    lg.reverse(Reverse("m1", "o", krw(6_000)), T0, ids)
    with pytest.raises(RefundExceedsOrder) as refused:
        lg.reverse(Reverse("m1", "o", krw(4_001)), T0, ids)
    assert refused.value.context == {"refundable": 4_000}
    with pytest.raises(CurrencyMismatch):
        lg.reverse(Reverse("m1", "o", Money(100, "USD")), T0, ids)
    with pytest.raises(InvalidRequest):
        lg.reverse(Reverse("m1", "o", krw(0)), T0, ids)


def test_refunds_of_unknown_orders_are_refused(ids: Counter) -> None:
    lg = ledger()
    with pytest.raises(UnknownOrder):
        lg.reverse(Reverse("m1", "never-bought"), T0, ids)
    # An order too small to earn a point left no trace, so there is nothing to refund.
    lg.earn(Earn("m1", money=krw(10), order_ref="tiny"), T0, ids)
    with pytest.raises(UnknownOrder):
        lg.reverse(Reverse("m1", "tiny"), T0, ids)


def test_an_order_earned_as_points_is_refunded_whole(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", points=250, order_ref="review"), T0, ids)
    with pytest.raises(InvalidRequest):
        lg.reverse(Reverse("m1", "review", krw(100)), T0, ids)
    refund = lg.reverse(Reverse("m1", "review"), T0, ids)
    assert (refund.clawed_back, refund.money) == (250, None)
    with pytest.raises(RefundExceedsOrder):
        lg.reverse(Reverse("m1", "review"), T0, ids)


def test_pending_points_of_a_refunded_order_are_clawed_back_before_release(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", money=krw(20_000), order_ref="o", available_at=T0 + 14 * DAY), T0, ids)
    lg.reverse(Reverse("m1", "o"), T0 + 3 * DAY, ids)
    assert postings(lg.recorded.transactions[-1]) == {(Account.PENDING, "m1"): -1_000, (Account.REVERSED, None): 1_000}
    assert balances(lg) == (0, 0, 0, 0)
    assert lg.settle(T0 + 14 * DAY, ids) == []  # nothing left to release


def spent_order(ids: Counter, allow_negative: bool) -> MemberLedger:
    """Order-1 earned 1,000 points; 800 of them were redeemed; 300 other points came later."""
    lg = ledger(of=program(allow_negative_balance=allow_negative))
    lg.earn(Earn("m1", money=krw(20_000), order_ref="order-1"), T0, ids)   # lot A: 1,000
    lg.redeem(Redeem("m1", 1_000), T0 + DAY, ids)                           # A: 0 left
    lg.earn(Earn("m1", points=300), T0 + 2 * DAY, ids)                      # lot B: 300
    return lg


def test_clawback_of_spent_points_takes_other_lots_first_expiring_first(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", money=krw(20_000), order_ref="order-1"), T0, ids)         # A: 1,000, expires T0+365d
    lg.earn(Earn("m1", points=600), T0 + DAY, ids)                               # B: 600, expires T0+366d
    lg.redeem(Redeem("m1", 1_000), T0 + 2 * DAY, ids)                            # A: 0, B: 600
    lg.adjust(Adjust("m1", 500, reason="apology", expires_at=T0 + 90 * DAY), T0 + 2 * DAY, ids)  # C: 500
    # The order's own lot is empty, so its 1,000 points come from C (expiring first), then B.
    refund = lg.reverse(Reverse("m1", "order-1"), T0 + 3 * DAY, ids)
    assert (refund.clawed_back, refund.uncollected) == (1_000, 0)
    assert remaining(lg) == [0, 100, 0]
    assert balances(lg) == (100, 0, 0, 0)


def test_clawback_beyond_the_balance_is_recorded_as_uncollected(ids: Counter) -> None:
    lg = spent_order(ids, allow_negative=False)
    refund = lg.reverse(Reverse("m1", "order-1"), T0 + 3 * DAY, ids)
    # 1,000 to claw back, 300 to take: the balance stops at zero, 700 go uncollected.
    assert (refund.clawed_back, refund.uncollected) == (300, 700)
    assert postings(lg.recorded.transactions[-1]) == {(Account.AVAILABLE, "m1"): -300, (Account.REVERSED, None): 300}
    assert balances(lg) == (0, 0, 0, 0)
    # The order counts as fully refunded all the same.
    with pytest.raises(RefundExceedsOrder):
        lg.reverse(Reverse("m1", "order-1"), T0 + 3 * DAY, ids)


def test_clawback_beyond_the_balance_becomes_a_debt_when_allowed(ids: Counter) -> None:
    lg = spent_order(ids, allow_negative=True)
    refund = lg.reverse(Reverse("m1", "order-1"), T0 + 3 * DAY, ids)
    assert (refund.clawed_back, refund.uncollected) == (1_000, 0)
    assert postings(lg.recorded.transactions[-1]) == {(Account.AVAILABLE, "m1"): -1_000,
                                                      (Account.REVERSED, None): 1_000}
    assert balances(lg) == (-700, 0, 0, 700)
    with pytest.raises(InsufficientPoints):  # nothing is spendable while a debt is open
        lg.redeem(Redeem("m1", 1_000), T0 + 3 * DAY, ids)

    # The next 500 points pay 500 of the debt; the 1,000 after that pay the last 200.
    lg.earn(Earn("m1", points=500), T0 + 4 * DAY, ids)
    assert balances(lg) == (-200, 0, 0, 200)
    lg.earn(Earn("m1", points=1_000), T0 + 5 * DAY, ids)
    assert balances(lg) == (800, 0, 0, 0)
    assert remaining(lg)[-2:] == [0, 800]
    repaid = [(m.lot_id, m.amount) for m in lg.recorded.movements if m.kind is MovementKind.REVERSED]
    c, d = lots(lg)[-2:]
    assert repaid[-2:] == [(c.id, 500), (d.id, 200)]


def test_a_debt_is_repaid_by_pending_points_when_they_are_released(ids: Counter) -> None:
    lg = spent_order(ids, allow_negative=True)
    lg.earn(Earn("m1", points=1_000, available_at=T0 + 20 * DAY), T0 + 2 * DAY, ids)
    lg.reverse(Reverse("m1", "order-1"), T0 + 3 * DAY, ids)
    assert balances(lg) == (-700, 1_000, 0, 700)
    lg.settle(T0 + 20 * DAY, ids)
    assert balances(lg) == (300, 0, 0, 0)


def test_a_closed_member_cannot_be_refunded(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", money=krw(20_000), order_ref="o"), T0, ids)
    lg.set_status(SetMemberStatus("m1", MemberStatus.CLOSED), T0, ids)
    with pytest.raises(MemberNotActive):
        lg.reverse(Reverse("m1", "o"), T0, ids)
    assert all(lot.source is LotSource.EARN and lot.remaining == 0 for lot in lots(lg))


def test_a_refused_earn_leaves_no_order_behind(ids: Counter) -> None:
    lg = ledger()
    with pytest.raises(InvalidRequest):
        lg.earn(Earn("m1", money=krw(20_000), order_ref="o", available_at=T0 + 10 * DAY,
                     expires_at=T0 + 5 * DAY), T0, ids)
    with pytest.raises(UnknownOrder):
        lg.reverse(Reverse("m1", "o"), T0, ids)
