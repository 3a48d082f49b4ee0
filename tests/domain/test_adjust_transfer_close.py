"""Operator adjustments, transfers between members, and member status changes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dangol.domain import Account, HoldStatus, LotSource, MemberStatus, TransactionKind
from dangol.domain.commands import Adjust, Earn, PlaceHold, Redeem, Reverse, SetMemberStatus, Transfer
from dangol.domain.errors import (
    InsufficientPoints, InvalidRequest, MemberNotActive, ProgramMismatch, TransfersNotAllowed,
)
from dangol.domain.money import Money

from .support import DAY, T0, Counter, balances, ledger, lots, postings, program, remaining


def test_a_positive_adjustment_credits_a_lot_with_its_reason(ids: Counter) -> None:
    lg = ledger()
    txn = lg.adjust(Adjust("m1", 500, reason="compensation for a late delivery"), T0, ids)
    assert txn.kind is TransactionKind.ADJUST and txn.reason == "compensation for a late delivery"
    assert postings(txn) == {(Account.ADJUSTED, None): -500, (Account.AVAILABLE, "m1"): 500}
    [lot] = lots(lg)
    assert (lot.source, lot.amount, lot.expires_at) == (LotSource.ADJUST, 500, T0 + 365 * DAY)
    assert balances(lg) == (500, 0, 0, 0)


def test_a_negative_adjustment_takes_points_first_expiring_first(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", points=1_000), T0, ids)
    lg.adjust(Adjust("m1", 200, reason="bonus", expires_at=T0 + 10 * DAY), T0, ids)
    txn = lg.adjust(Adjust("m1", -300, reason="duplicate bonus"), T0 + DAY, ids)
    assert postings(txn) == {(Account.AVAILABLE, "m1"): -300, (Account.ADJUSTED, None): 300}
    assert remaining(lg) == [900, 0]
    assert balances(lg) == (900, 0, 0, 0)
    with pytest.raises(InsufficientPoints):
        lg.adjust(Adjust("m1", -901, reason="too much"), T0 + DAY, ids)


@pytest.mark.parametrize("command", [
    Adjust("m1", 100, reason=""), Adjust("m1", 100, reason="   "), Adjust("m1", 0, reason="nothing"),
    Adjust("m1", 100, reason="in the past", expires_at=T0),
])
def test_an_adjustment_needs_a_reason_and_points(ids: Counter, command: Adjust) -> None:
    lg = ledger()
    with pytest.raises(InvalidRequest):
        lg.adjust(command, T0, ids)
    assert balances(lg) == (0, 0, 0, 0)


def test_transfers_are_refused_unless_the_program_allows_them(ids: Counter) -> None:
    sender, recipient = ledger("m1"), ledger("m2")
    sender.earn(Earn("m1", points=1_000), T0, ids)
    with pytest.raises(TransfersNotAllowed) as refused:
        sender.transfer(recipient, Transfer("m1", "m2", 500), T0, ids)
    assert refused.value.code == "transfers-not-allowed"
    assert balances(sender) == (1_000, 0, 0, 0) and balances(recipient) == (0, 0, 0, 0)


def test_transferred_points_keep_the_expiry_they_had(ids: Counter) -> None:
    gifting = program(allow_transfers=True)
    sender, recipient = ledger("m1", gifting), ledger("m2", gifting)
    sender.adjust(Adjust("m1", 1_000, reason="welcome", expires_at=T0 + 30 * DAY), T0, ids)
    sender.earn(Earn("m1", points=1_000), T0, ids)
    txn = sender.transfer(recipient, Transfer("m1", "m2", 1_500, reason="gift"), T0 + DAY, ids)
    assert txn.kind is TransactionKind.TRANSFER and txn.counterparty_id == "m2"
    assert postings(txn) == {(Account.AVAILABLE, "m1"): -1_500, (Account.AVAILABLE, "m2"): 1_500}
    assert [(lot.source, lot.amount, lot.expires_at, lot.earned_at) for lot in lots(recipient)] == [
        (LotSource.TRANSFER, 1_000, T0 + 30 * DAY, T0 + DAY),
        (LotSource.TRANSFER, 500, T0 + 365 * DAY, T0 + DAY),
    ]
    assert balances(sender) == (500, 0, 0, 0) and balances(recipient) == (1_500, 0, 0, 0)
    # The recipient's points still expire when the sender's would have.
    recipient.settle(T0 + 30 * DAY, ids)
    assert balances(recipient) == (500, 0, 0, 0)


def test_transfer_rules(ids: Counter) -> None:
    gifting = program(allow_transfers=True)
    sender, suspended = ledger("m1", gifting), ledger("m2", gifting, MemberStatus.SUSPENDED)
    sender.earn(Earn("m1", points=1_000), T0, ids)
    with pytest.raises(InvalidRequest):
        sender.transfer(sender, Transfer("m1", "m1", 100), T0, ids)
    with pytest.raises(MemberNotActive):
        sender.transfer(suspended, Transfer("m1", "m2", 100), T0, ids)
    with pytest.raises(InsufficientPoints):
        sender.transfer(ledger("m3", gifting), Transfer("m1", "m3", 1_001), T0, ids)
    other = program(allow_transfers=True)
    other = type(other)("other-brand", "Other", "KRW", other.policy)
    with pytest.raises(ProgramMismatch):
        sender.transfer(ledger("m4", other), Transfer("m1", "m4", 100), T0, ids)
    assert balances(sender) == (1_000, 0, 0, 0)


def test_a_transfer_pays_the_recipients_debt_first(ids: Counter) -> None:
    policy = program(allow_transfers=True, allow_negative_balance=True)
    sender, recipient = ledger("m1", policy), ledger("m2", policy)
    sender.earn(Earn("m1", points=1_000), T0, ids)
    recipient.earn(Earn("m2", money=Money(20_000, "KRW"), order_ref="o"), T0, ids)
    recipient.redeem(Redeem("m2", 1_000), T0, ids)
    recipient.reverse(Reverse("m2", "o"), T0, ids)
    assert balances(recipient) == (-1_000, 0, 0, 1_000)
    sender.transfer(recipient, Transfer("m1", "m2", 1_000), T0, ids)
    assert balances(recipient) == (0, 0, 0, 0)


def test_closing_a_member_forfeits_every_point(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", points=3_000), T0, ids)
    lg.earn(Earn("m1", points=500, available_at=T0 + 14 * DAY), T0, ids)
    hold = lg.place_hold(PlaceHold("m1", 1_000), T0, ids)
    assert balances(lg) == (2_000, 500, 1_000, 0)
    forfeited = lg.set_status(SetMemberStatus("m1", MemberStatus.CLOSED), T0 + timedelta(minutes=5), ids)
    # The hold (still active) is voided first, then all 3,000 available and 500 pending points expire.
    assert [t.kind for t in forfeited] == [TransactionKind.VOID, TransactionKind.EXPIRE]
    assert postings(forfeited[-1]) == {(Account.EXPIRED, None): 3_500, (Account.AVAILABLE, "m1"): -3_000,
                                       (Account.PENDING, "m1"): -500}
    assert forfeited[-1].reason == "membership closed"
    assert lg.holds[hold.id].status is HoldStatus.VOIDED
    assert balances(lg) == (0, 0, 0, 0) and remaining(lg) == [0, 0]
    assert lg.member.status is MemberStatus.CLOSED and lg.recorded.member_changed
    for refused in (lambda: lg.earn(Earn("m1", points=1), T0 + DAY, ids),
                    lambda: lg.adjust(Adjust("m1", 1, reason="x"), T0 + DAY, ids)):
        with pytest.raises(MemberNotActive):
            refused()
    with pytest.raises(InvalidRequest):  # closing is final
        lg.set_status(SetMemberStatus("m1", MemberStatus.ACTIVE), T0 + DAY, ids)


def test_suspending_keeps_the_points(ids: Counter) -> None:
    lg = ledger()
    lg.earn(Earn("m1", points=3_000), T0, ids)
    assert lg.set_status(SetMemberStatus("m1", MemberStatus.SUSPENDED, reason="fraud check"), T0, ids) == []
    with pytest.raises(MemberNotActive):
        lg.redeem(Redeem("m1", 1_000), T0, ids)
    lg.set_status(SetMemberStatus("m1", MemberStatus.ACTIVE), T0 + DAY, ids)
    lg.redeem(Redeem("m1", 1_000), T0 + DAY, ids)
    assert balances(lg) == (2_000, 0, 0, 0)
