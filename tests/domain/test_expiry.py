"""Settling a ledger as of a time: due pending lots released, timed-out holds released,
lots past their expiry expired. Idempotent."""

from __future__ import annotations

from dangol.domain import Account, TransactionKind
from dangol.domain.commands import Earn, Redeem

from .support import DAY, T0, Counter, balances, ledger, postings, remaining


def test_lots_expire_at_their_expiry_and_only_their_remainder(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", points=1_500), T0, ids)              # expires T0+365d
    lg.earn(Earn("m1", points=500), T0 + 100 * DAY, ids)    # expires T0+465d
    lg.redeem(Redeem("m1", 1_000), T0 + 200 * DAY, ids)     # first lot: 500 left
    assert lg.settle(T0 + 365 * DAY - DAY, ids) == []
    [txn] = lg.settle(T0 + 365 * DAY, ids)                  # the instant of expiry counts
    assert txn.kind is TransactionKind.EXPIRE and txn.occurred_at == T0 + 365 * DAY
    assert postings(txn) == {(Account.EXPIRED, None): 500, (Account.AVAILABLE, "m1"): -500}
    assert remaining(lg) == [0, 500]
    assert balances(lg) == (500, 0, 0, 0)


def test_settling_twice_does_nothing_more(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", points=1_000), T0, ids)
    lg.earn(Earn("m1", points=700, available_at=T0 + 400 * DAY), T0, ids)
    first = lg.settle(T0 + 400 * DAY, ids)
    # the pending lot is released, the year-old lot expired, in one settle
    assert [t.kind for t in first] == [TransactionKind.RELEASE, TransactionKind.EXPIRE]
    assert lg.settle(T0 + 400 * DAY, ids) == []
    assert balances(lg) == (700, 0, 0, 0)


def test_expiry_of_several_lots_is_one_transaction(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", points=100), T0, ids)
    lg.earn(Earn("m1", points=200), T0 + DAY, ids)
    lg.earn(Earn("m1", points=300), T0 + 2 * DAY, ids)
    [txn] = lg.settle(T0 + 366 * DAY, ids)
    # Lots expired at T0+365d and T0+366d; the transaction is dated at the later one.
    assert postings(txn) == {(Account.EXPIRED, None): 300, (Account.AVAILABLE, "m1"): -300}
    assert txn.occurred_at == T0 + 366 * DAY
    assert remaining(lg) == [0, 0, 300]
