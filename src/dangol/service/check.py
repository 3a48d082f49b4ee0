"""`dangol check`: recompute every balance from the postings and the lots, and report
every place where the stored numbers disagree. Run it after a crash, a restore, or
whenever you want to know the books are right."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import RowMapping, func, literal, select

from ..domain.holds import HoldStatus
from ..storage import tables as t
from ..storage.database import Database


@dataclass(frozen=True, slots=True)
class Mismatch:
    subject: str  # "transaction 12", "member m_…", "lot 7", "program demo"
    what: str
    expected: int
    actual: int

    def __str__(self) -> str:
        return f"{self.subject}: {self.what} is {self.actual}, expected {self.expected}"


@dataclass(frozen=True, slots=True)
class CheckReport:
    transactions: int
    members: int
    lots: int
    mismatches: list[Mismatch]

    @property
    def ok(self) -> bool:
        return not self.mismatches


class LedgerCheck:
    def __init__(self, db: Database) -> None:
        self.db = db

    def run(self) -> CheckReport:
        problems: list[Mismatch] = []
        with self.db.read() as conn:
            p = t.postings
            for txn_id, total in conn.execute(select(p.c.transaction_id, func.sum(p.c.amount))
                                              .group_by(p.c.transaction_id).having(func.sum(p.c.amount) != 0)):
                problems.append(Mismatch(f"transaction {txn_id}", "sum of postings", 0, int(total)))
            orphans = select(t.transactions.c.id).where(~select(literal(1)).where(
                p.c.transaction_id == t.transactions.c.id).exists())
            for (txn_id,) in conn.execute(orphans):
                problems.append(Mismatch(f"transaction {txn_id}", "number of postings", 2, 0))
            for program_id, total in conn.execute(select(p.c.program_id, func.sum(p.c.amount)).group_by(p.c.program_id)):
                if total:
                    problems.append(Mismatch(f"program {program_id}", "sum of all accounts", 0, int(total)))

            from_postings: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for member_id, account, total in conn.execute(
                    select(p.c.member_id, p.c.account, func.sum(p.c.amount))
                    .where(p.c.member_id.isnot(None)).group_by(p.c.member_id, p.c.account)):
                from_postings[member_id][account] = int(total)
            lots_by_member: dict[str, dict[bool, int]] = defaultdict(lambda: defaultdict(int))
            for member_id, released, total in conn.execute(
                    select(t.lots.c.member_id, t.lots.c.released, func.sum(t.lots.c.remaining))
                    .group_by(t.lots.c.member_id, t.lots.c.released)):
                lots_by_member[member_id][bool(released)] = int(total)
            held_by_member: dict[str, int] = {member_id: int(total) for member_id, total in conn.execute(
                select(t.holds.c.member_id, func.sum(t.holds.c.amount))
                .where(t.holds.c.status == HoldStatus.ACTIVE.value).group_by(t.holds.c.member_id))}
            allow_negative: dict[str, bool] = {program_id: bool(allowed) for program_id, allowed in conn.execute(
                select(t.programs.c.id, t.programs.c.allow_negative_balance))}
            members = 0
            for row in conn.execute(select(t.members)).mappings():
                members += 1
                problems += _member_problems(row, from_postings.get(row["id"], {}), lots_by_member.get(row["id"], {}),
                                             held_by_member.get(row["id"], 0),
                                             allow_negative.get(row["program_id"], False))

            moved = select(t.lot_movements.c.lot_id, func.sum(t.lot_movements.c.amount).label("moved")) \
                .group_by(t.lot_movements.c.lot_id).subquery()
            lots = t.lots
            bad_lots = select(lots.c.id, lots.c.amount, lots.c.remaining, func.coalesce(moved.c.moved, 0)) \
                .select_from(lots.outerjoin(moved, moved.c.lot_id == lots.c.id)) \
                .where((lots.c.remaining + func.coalesce(moved.c.moved, 0) != lots.c.amount)
                       | (lots.c.remaining < 0) | (lots.c.remaining > lots.c.amount))
            for lot_id, amount, remaining, moved_total in conn.execute(bad_lots):
                problems.append(Mismatch(f"lot {lot_id}", "remaining plus movements", int(amount),
                                         int(remaining) + int(moved_total)))
            counts = conn.execute(select(
                select(func.count()).select_from(t.transactions).scalar_subquery(),
                select(func.count()).select_from(t.lots).scalar_subquery())).one()
        return CheckReport(int(counts[0]), members, int(counts[1]), problems)


def _member_problems(row: RowMapping, postings: dict[str, int], lots: dict[bool, int], held: int,
                     allow_negative: bool) -> list[Mismatch]:
    subject = f"member {row['id']}"
    problems = []
    for account in ("available", "pending", "held"):
        if postings.get(account, 0) != row[account]:
            problems.append(Mismatch(subject, f"cached {account} balance", postings.get(account, 0), row[account]))
    available = postings.get("available", 0)
    if lots.get(True, 0) - row["debt"] != available:
        problems.append(Mismatch(subject, "available lots minus debt", available, lots.get(True, 0) - row["debt"]))
    if lots.get(False, 0) != postings.get("pending", 0):
        problems.append(Mismatch(subject, "pending lots", postings.get("pending", 0), lots.get(False, 0)))
    if held != postings.get("held", 0):
        problems.append(Mismatch(subject, "active holds", postings.get("held", 0), held))
    if row["debt"] and not allow_negative:
        problems.append(Mismatch(subject, "debt in a program that forbids negative balances", 0, row["debt"]))
    if row["debt"] < 0:
        problems.append(Mismatch(subject, "debt", 0, row["debt"]))
    return problems
