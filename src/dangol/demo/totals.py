"""A program's books in a few numbers: where every point issued has gone."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..domain.accounts import Account
from ..storage import tables as t
from ..storage.database import Database


@dataclass(frozen=True, slots=True)
class ProgramTotals:
    members: int
    transactions: int
    issued: int  # earned
    adjusted: int  # net operator adjustments
    redeemed: int
    expired: int
    reversed: int  # clawed back by refunds
    outstanding: int  # what members hold: available, pending and held

    def rows(self) -> list[tuple[str, int]]:
        return [("members", self.members), ("transactions", self.transactions),
                ("points issued", self.issued), ("points adjusted (net)", self.adjusted),
                ("points redeemed", self.redeemed), ("points expired", self.expired),
                ("points reversed (refunds)", self.reversed), ("points outstanding", self.outstanding)]


def program_totals(db: Database, program_id: str) -> ProgramTotals:
    p = t.postings
    with db.read() as conn:
        sums = {account: int(total) for account, total in conn.execute(
            select(p.c.account, func.sum(p.c.amount)).where(p.c.program_id == program_id).group_by(p.c.account))}
        members = conn.execute(select(func.count()).select_from(t.members)
                               .where(t.members.c.program_id == program_id)).scalar_one()
        transactions = conn.execute(select(func.count()).select_from(t.transactions)
                                    .where(t.transactions.c.program_id == program_id)).scalar_one()

    def total(account: Account) -> int:
        return sums.get(account.value, 0)

    # Source accounts run negative (points come out of them), the others positive.
    return ProgramTotals(
        members=int(members), transactions=int(transactions), issued=-total(Account.ISSUED),
        adjusted=-total(Account.ADJUSTED), redeemed=total(Account.REDEEMED), expired=total(Account.EXPIRED),
        reversed=total(Account.REVERSED),
        outstanding=total(Account.AVAILABLE) + total(Account.PENDING) + total(Account.HELD))
