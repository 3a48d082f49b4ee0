"""Earning lots and spending them first-expiring-first."""

from __future__ import annotations

import pytest

from dangol.domain import Account, LotSource, MemberStatus, Money, Rounding, TransactionKind
from dangol.domain.commands import Adjust, Earn, Redeem
from dangol.domain.errors import (
    BelowMinimumRedemption, CurrencyMismatch, InsufficientPoints, InvalidRequest, MemberNotActive,
)

from .support import DAY, T0, Counter, balances, ledger, lots, postings, program, remaining


def test_earn_points_credits_a_lot_valid_for_a_year(ids: Counter) -> None:
    lg = ledger()
    txn = lg.earn(Earn("m1", points=1_000, order_ref="order-1"), T0, ids)
    assert txn is not None and txn.kind is TransactionKind.EARN
    assert postings(txn) == {(Account.ISSUED, None): -1_000, (Account.AVAILABLE, "m1"): 1_000}
    [lot] = lots(lg)
    assert (lot.amount, lot.remaining, lot.source, lot.order_ref) == (1_000, 1_000, LotSource.EARN, "order-1")
    assert (lot.earned_at, lot.available_at, lot.expires_at) == (T0, T0, T0 + 365 * DAY)
    assert not lot.is_pending
    assert balances(lg) == (1_000, 0, 0, 0)


@pytest.mark.parametrize(("rounding", "points"), [
    (Rounding.FLOOR, 617), (Rounding.HALF_UP, 618), (Rounding.CEILING, 618),
])
def test_earn_money_at_the_program_rate(ids: Counter, rounding: Rounding, points: int) -> None:
    lg = ledger(of=program(rounding=rounding))
    # 12,350 won at 5 points per 100 won is 617.5 points
    txn = lg.earn(Earn("m1", money=Money(12_350, "KRW"), order_ref="order-1"), T0, ids)
    assert txn is not None and txn.points == points and txn.money == Money(12_350, "KRW")
    assert balances(lg) == (points, 0, 0, 0)


def test_an_order_too_small_to_earn_a_point_writes_nothing(ids: Counter) -> None:
    lg = ledger()
    assert lg.earn(Earn("m1", money=Money(19, "KRW"), order_ref="tiny"), T0, ids) is None  # 0.95 -> 0
    assert lg.recorded.transactions == [] and lg.lots == {} and balances(lg) == (0, 0, 0, 0)


def test_a_pending_lot_becomes_available_at_its_release_date(ids: Counter) -> None:
    # Points for an order with a 14-day return window: pending until then, and their
    # year of validity starts when they become available.
    lg = ledger()
    release = T0 + 14 * DAY
    txn = lg.earn(Earn("m1", points=1_000, available_at=release), T0, ids)
    assert txn is not None and postings(txn) == {(Account.ISSUED, None): -1_000, (Account.PENDING, "m1"): 1_000}
    [lot] = lots(lg)
    assert lot.is_pending and lot.expires_at == release + 365 * DAY
    assert balances(lg) == (0, 1_000, 0, 0)
    with pytest.raises(InsufficientPoints):
        lg.redeem(Redeem("m1", 1_000), release - DAY, ids)

    assert lg.settle(release - DAY, ids) == []
    [released] = lg.settle(release, ids)
    assert released.kind is TransactionKind.RELEASE and released.occurred_at == release
    assert postings(released) == {(Account.PENDING, "m1"): -1_000, (Account.AVAILABLE, "m1"): 1_000}
    assert balances(lg) == (1_000, 0, 0, 0)
    lg.redeem(Redeem("m1", 1_000), release, ids)
    assert balances(lg) == (0, 0, 0, 0)


def test_earn_with_an_explicit_expiry(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", points=100, expires_at=T0 + 30 * DAY), T0, ids)
    assert lots(lg)[0].expires_at == T0 + 30 * DAY
    with pytest.raises(InvalidRequest):
        lg.earn(Earn("m1", points=100, available_at=T0 + 10 * DAY, expires_at=T0 + 10 * DAY), T0, ids)


@pytest.mark.parametrize("command", [
    Earn("m1"),                                            # neither points nor money
    Earn("m1", points=0), Earn("m1", points=-5), Earn("m1", points=True),  # type: ignore[arg-type]
    Earn("m1", points=10**16),
    Earn("m1", money=Money(-1_000, "KRW")),
])
def test_earn_refuses_invalid_requests(ids: Counter, command: Earn) -> None:
    lg = ledger()
    with pytest.raises(InvalidRequest):
        lg.earn(command, T0, ids)
    assert lg.recorded.transactions == [] and balances(lg) == (0, 0, 0, 0)


def test_earn_refuses_another_currency(ids: Counter) -> None:
    with pytest.raises(CurrencyMismatch):
        ledger().earn(Earn("m1", money=Money(1_000, "USD")), T0, ids)


def test_a_suspended_member_neither_earns_nor_redeems(ids: Counter) -> None:
    lg = ledger(status=MemberStatus.SUSPENDED)
    with pytest.raises(MemberNotActive):
        lg.earn(Earn("m1", points=1_000), T0, ids)
    with pytest.raises(MemberNotActive):
        lg.redeem(Redeem("m1", 1_000), T0, ids)


def test_redeem_spends_the_first_expiring_lots_first(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", points=1_000), T0, ids)                                  # A: expires T0+365d
    lg.adjust(Adjust("m1", 500, reason="goodwill", expires_at=T0 + 30 * DAY), T0, ids)  # B: expires T0+30d
    lg.earn(Earn("m1", points=800), T0 + DAY, ids)                              # C: expires T0+366d
    # 1,200 points: all 500 of B (earliest expiry), then 700 of A; C untouched.
    txn = lg.redeem(Redeem("m1", 1_200, order_ref="basket-9"), T0 + 2 * DAY, ids)
    assert postings(txn) == {(Account.AVAILABLE, "m1"): -1_200, (Account.REDEEMED, None): 1_200}
    assert remaining(lg) == [300, 0, 800]
    a, b, _ = lots(lg)
    assert [(m.lot_id, m.amount) for m in lg.recorded.movements] == [(b.id, 500), (a.id, 700)]
    assert balances(lg) == (1_100, 0, 0, 0)


def test_lots_expiring_together_are_spent_oldest_first(ids: Counter) -> None:
    lg = ledger()
    same = T0 + 100 * DAY
    lg.earn(Earn("m1", points=600, expires_at=same), T0 + DAY, ids)
    lg.earn(Earn("m1", points=600, expires_at=same), T0, ids)
    lg.redeem(Redeem("m1", 1_000), T0 + 2 * DAY, ids)
    assert remaining(lg) == [200, 0]  # the lot earned at T0 went first


def test_redeem_below_the_minimum_is_refused(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", points=5_000), T0, ids)
    with pytest.raises(BelowMinimumRedemption) as refused:
        lg.redeem(Redeem("m1", 999), T0, ids)
    assert refused.value.context == {"minimum": 1_000}
    assert balances(lg) == (5_000, 0, 0, 0)
    lg.redeem(Redeem("m1", 1_000), T0, ids)
    assert balances(lg) == (4_000, 0, 0, 0)


def test_redeem_more_than_available_is_refused_and_changes_nothing(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", points=1_500), T0, ids)
    before = (list(lg.recorded.transactions), dict(lg.lots))
    with pytest.raises(InsufficientPoints) as refused:
        lg.redeem(Redeem("m1", 2_000), T0, ids)
    assert refused.value.code == "insufficient-points"
    assert refused.value.context == {"requested": 2_000, "available": 1_500}
    assert (lg.recorded.transactions, lg.lots) == before
    assert balances(lg) == (1_500, 0, 0, 0)


def test_expired_points_cannot_be_redeemed(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", points=1_500), T0, ids)
    lg.earn(Earn("m1", points=500), T0 + 10 * DAY, ids)
    # A year on, the first lot has expired: only the 500 of the second remain.
    with pytest.raises(InsufficientPoints) as refused:
        lg.redeem(Redeem("m1", 1_000), T0 + 365 * DAY, ids)
    assert refused.value.context["available"] == 500


def test_a_back_dated_redemption_cannot_spend_points_earned_after_it(ids: Counter) -> None:
    # An import of history replays a redemption dated before a later purchase: the
    # purchase's 2,000 points did not exist yet, so only the 1,000 earned earlier count.
    lg = ledger()
    lg.earn(Earn("m1", points=1_000), T0, ids)
    lg.earn(Earn("m1", points=2_000), T0 + 5 * DAY, ids)
    with pytest.raises(InsufficientPoints) as refused:
        lg.redeem(Redeem("m1", 1_500), T0 + 2 * DAY, ids)
    assert refused.value.context["available"] == 1_000
    lg.redeem(Redeem("m1", 1_000), T0 + 2 * DAY, ids)
    assert remaining(lg) == [0, 2_000]
