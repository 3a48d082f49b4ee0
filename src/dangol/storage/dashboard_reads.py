"""The console dashboard's aggregate reads: a handful of GROUP BY queries over a program's
members and transactions, never a row per member in Python."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Connection, distinct, func, select, type_coerce

from . import tables as t

MICROS_PER_DAY = 86_400_000_000


def member_counts(conn: Connection, program_id: str) -> dict[str, int]:
    """Members by status."""
    m = t.members
    rows = conn.execute(select(m.c.status, func.count()).where(m.c.program_id == program_id).group_by(m.c.status))
    return {str(status): int(count) for status, count in rows}


def outstanding(conn: Connection, program_id: str) -> int:
    """The liability now: every member's available, pending and held points."""
    m = t.members
    total = conn.execute(select(func.coalesce(func.sum(m.c.available + m.c.pending + m.c.held), 0))
                         .where(m.c.program_id == program_id)).scalar_one()
    return int(total)


def active_members(conn: Connection, program_id: str, since: datetime) -> int:
    """Members with a transaction of their own (earned, redeemed, …) since `since`."""
    tx = t.transactions
    return int(conn.execute(select(func.count(distinct(tx.c.member_id))).where(
        tx.c.program_id == program_id, tx.c.occurred_at >= since)).scalar_one())


def daily_postings(conn: Connection, program_id: str, since: datetime) -> list[tuple[int, str, int]]:
    """(UTC day number since the epoch, account, net amount posted) of the program's
    transactions since `since`, one row per day and account (double entry: what left an
    account is negative, what entered it positive)."""
    tx, postings = t.transactions, t.postings
    # The stored integer microseconds (types.Timestamp), divided: the UTC day number.
    day = (type_coerce(tx.c.occurred_at, BigInteger) / MICROS_PER_DAY).label("day")
    rows = conn.execute(select(day, postings.c.account, func.sum(postings.c.amount))
                        .select_from(tx.join(postings, postings.c.transaction_id == tx.c.id))
                        .where(tx.c.program_id == program_id, tx.c.occurred_at >= since)
                        .group_by(day, postings.c.account))
    return [(int(d), str(account), int(amount or 0)) for d, account, amount in rows]
