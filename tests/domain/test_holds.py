"""Two-phase redemption at the point of sale: hold, then capture or void, or time out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dangol.domain import Account, HoldStatus, MemberLedger, TransactionKind
from dangol.domain.commands import Adjust, CaptureHold, Earn, PlaceHold, VoidHold
from dangol.domain.errors import BelowMinimumRedemption, HoldNotActive, InsufficientPoints, InvalidRequest, UnknownHold

from .support import DAY, T0, Counter, balances, ledger, lots, postings, remaining


def two_lots(ids: Counter) -> MemberLedger:
    """Lot A: 1,000 points expiring in 30 days; lot B: 1,000 points expiring in a year."""
    lg = ledger()
    lg.adjust(Adjust("m1", 1_000, reason="welcome", expires_at=T0 + 30 * DAY), T0, ids)
    lg.earn(Earn("m1", points=1_000), T0, ids)
    return lg


def test_a_hold_reserves_points_first_expiring_first(ids: Counter) -> None:
    lg = two_lots(ids)
    a, b = lots(lg)
    hold = lg.place_hold(PlaceHold("m1", 1_500, order_ref="pos-1"), T0, ids)
    assert (hold.amount, hold.status, hold.order_ref) == (1_500, HoldStatus.ACTIVE, "pos-1")
    assert hold.expires_at == T0 + timedelta(seconds=900)  # the program's default timeout
    assert hold.drawn == ((a.id, 1_000), (b.id, 500))
    assert remaining(lg) == [0, 500]
    assert balances(lg) == (500, 0, 1_500, 0)
    [txn] = [t for t in lg.recorded.transactions if t.kind is TransactionKind.HOLD]
    assert postings(txn) == {(Account.AVAILABLE, "m1"): -1_500, (Account.HELD, "m1"): 1_500}
    assert txn.hold_id == hold.id


def test_capturing_the_whole_hold_redeems_it(ids: Counter) -> None:
    lg = two_lots(ids)
    hold = lg.place_hold(PlaceHold("m1", 1_500), T0, ids)
    captured, txn = lg.capture_hold(CaptureHold(hold.id), T0 + timedelta(minutes=5), ids)
    assert (captured.status, captured.captured) == (HoldStatus.CAPTURED, 1_500)
    assert captured.closed_at == T0 + timedelta(minutes=5)
    assert postings(txn) == {(Account.HELD, "m1"): -1_500, (Account.REDEEMED, None): 1_500}
    assert remaining(lg) == [0, 500]
    assert balances(lg) == (500, 0, 0, 0)


def test_a_partial_capture_returns_the_rest_to_the_latest_expiring_lots(ids: Counter) -> None:
    lg = two_lots(ids)
    hold = lg.place_hold(PlaceHold("m1", 1_500), T0, ids)
    # The basket came to 1,200 points: 1,000 from A (expiring first) and 200 from B are
    # redeemed; the 300 not needed go back to B, the lot that expires last.
    captured, txn = lg.capture_hold(CaptureHold(hold.id, 1_200), T0, ids)
    assert captured.captured == 1_200
    assert postings(txn) == {(Account.HELD, "m1"): -1_500, (Account.REDEEMED, None): 1_200,
                             (Account.AVAILABLE, "m1"): 300}
    assert remaining(lg) == [0, 800]
    assert balances(lg) == (800, 0, 0, 0)


def test_a_capture_cannot_exceed_the_hold(ids: Counter) -> None:
    lg = two_lots(ids)
    hold = lg.place_hold(PlaceHold("m1", 1_500), T0, ids)
    for points in (1_501, 0, -1):
        with pytest.raises(InvalidRequest):
            lg.capture_hold(CaptureHold(hold.id, points), T0, ids)
    assert lg.holds[hold.id].status is HoldStatus.ACTIVE and balances(lg) == (500, 0, 1_500, 0)


def test_voiding_a_hold_gives_every_point_back_where_it_came_from(ids: Counter) -> None:
    lg = two_lots(ids)
    hold = lg.place_hold(PlaceHold("m1", 1_500), T0, ids)
    voided, txn = lg.void_hold(VoidHold(hold.id), T0, ids)
    assert voided.status is HoldStatus.VOIDED and voided.captured == 0
    assert txn.kind is TransactionKind.VOID
    assert postings(txn) == {(Account.HELD, "m1"): -1_500, (Account.AVAILABLE, "m1"): 1_500}
    assert remaining(lg) == [1_000, 1_000]
    assert balances(lg) == (2_000, 0, 0, 0)


def test_a_closed_hold_cannot_be_captured_or_voided_again(ids: Counter) -> None:
    lg = two_lots(ids)
    hold = lg.place_hold(PlaceHold("m1", 1_000), T0, ids)
    lg.void_hold(VoidHold(hold.id), T0, ids)
    with pytest.raises(HoldNotActive) as refused:
        lg.capture_hold(CaptureHold(hold.id), T0, ids)
    assert refused.value.context == {"status": "voided"}
    with pytest.raises(HoldNotActive):
        lg.void_hold(VoidHold(hold.id), T0, ids)
    with pytest.raises(UnknownHold):
        lg.void_hold(VoidHold(hold.id + 1_000), T0, ids)
    assert balances(lg) == (2_000, 0, 0, 0)


def test_a_timed_out_hold_is_released_by_settle(ids: Counter) -> None:
    lg = two_lots(ids)
    hold = lg.place_hold(PlaceHold("m1", 1_500, timeout_seconds=60), T0, ids)
    assert hold.expires_at == T0 + timedelta(seconds=60)
    assert lg.settle(T0 + timedelta(seconds=59), ids) == []
    [txn] = lg.settle(T0 + timedelta(minutes=10), ids)
    assert txn.kind is TransactionKind.VOID and txn.reason == "hold timed out"
    assert txn.occurred_at == hold.expires_at  # released as of its timeout, not of the settle
    expired = lg.holds[hold.id]
    assert (expired.status, expired.closed_at) == (HoldStatus.EXPIRED, hold.expires_at)
    assert balances(lg) == (2_000, 0, 0, 0)
    # the point of sale comes back too late
    with pytest.raises(HoldNotActive):
        lg.capture_hold(CaptureHold(hold.id), T0 + timedelta(minutes=11), ids)


def test_capture_after_the_timeout_is_refused_even_before_anything_settled(ids: Counter) -> None:
    lg = two_lots(ids)
    hold = lg.place_hold(PlaceHold("m1", 1_500), T0, ids)
    with pytest.raises(HoldNotActive):
        lg.capture_hold(CaptureHold(hold.id), T0 + timedelta(seconds=900), ids)
    assert balances(lg) == (2_000, 0, 0, 0)


def test_held_points_cannot_be_spent_twice(ids: Counter) -> None:
    lg = two_lots(ids)
    lg.place_hold(PlaceHold("m1", 1_500), T0, ids)
    with pytest.raises(InsufficientPoints):
        lg.place_hold(PlaceHold("m1", 1_000), T0, ids)


def test_a_hold_follows_the_redemption_rules(ids: Counter) -> None:
    lg = two_lots(ids)
    with pytest.raises(BelowMinimumRedemption):
        lg.place_hold(PlaceHold("m1", 500), T0, ids)
    with pytest.raises(InvalidRequest):
        lg.place_hold(PlaceHold("m1", 1_000, timeout_seconds=31 * 86_400), T0, ids)
    assert balances(lg) == (2_000, 0, 0, 0) and lg.holds == {}


def test_points_returned_by_a_late_hold_expire_with_their_lot(ids: Counter) -> None:
    lg = two_lots(ids)
    a_expiry = T0 + 30 * DAY
    hold = lg.place_hold(PlaceHold("m1", 1_000, timeout_seconds=2 * 86_400), a_expiry - DAY, ids)
    # The hold drew all of lot A, which expires while it is held. When the hold times out
    # the points go back to A, and A's expiry then takes them.
    assert hold.drawn == ((lots(lg)[0].id, 1_000),)
    txns = lg.settle(a_expiry + 2 * DAY, ids)
    assert [t.kind for t in txns] == [TransactionKind.VOID, TransactionKind.EXPIRE]
    assert remaining(lg) == [0, 1_000]
    assert balances(lg) == (1_000, 0, 0, 0)
