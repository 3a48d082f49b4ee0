"""Builders for pure domain tests: a program, a member's ledger, ids from a counter."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from itertools import count

from dangol.domain import (
    Account, Balances, EarnRate, Member, MemberLedger, MemberStatus, PointLot, Program, ProgramPolicy, Transaction,
)

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
# The example program: 5 points per 100 KRW (5%), one-year lots, redemptions from 1,000 points.
EXAMPLE_POLICY = ProgramPolicy(earn_rate=EarnRate(points=5, per_minor_units=100))


class Counter:
    """The domain's IdSource for ledgers that live only in memory."""

    def __init__(self) -> None:
        self._ids = count(1)

    def next_id(self, kind: str) -> int:
        return next(self._ids)


def program(**policy: object) -> Program:
    return Program("market", "Talent market", "KRW", replace(EXAMPLE_POLICY, **policy))


def ledger(member_id: str = "m1", of: Program | None = None,
           status: MemberStatus = MemberStatus.ACTIVE) -> MemberLedger:
    of = of or program()
    member = Member(member_id, of.id, f"customer-{member_id}", status, T0)
    return MemberLedger(of, member, Balances(), lots=[], holds=[], orders_complete=True)


def lots(ledger: MemberLedger) -> list[PointLot]:
    return sorted(ledger.lots.values(), key=lambda lot: lot.id)


def remaining(ledger: MemberLedger) -> list[int]:
    """Each lot's remainder, in the order the lots were created."""
    return [lot.remaining for lot in lots(ledger)]


def postings(txn: Transaction) -> dict[tuple[Account, str | None], int]:
    return {(p.account, p.member_id): p.amount for p in txn.postings}


def balances(ledger: MemberLedger) -> tuple[int, int, int, int]:
    b = ledger.balances
    return (b.available, b.pending, b.held, b.debt)
