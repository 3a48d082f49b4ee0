"""What insight reads: purchases (earn transactions carrying the order's amount), one row
per purchase, pseudonymous (member ids, never names or contact details); and the daily
aggregates the KPIs are computed from, grouped in SQL by UTC day."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, and_, func, or_, select, type_coerce

from . import tables as t


def purchases(conn: Connection, program_id: str) -> list[tuple[str, datetime, int]]:
    """(member id, occurred_at, amount in minor units) of every purchase of the program."""
    tx = t.transactions
    query = (select(tx.c.member_id, tx.c.occurred_at, tx.c.amount_minor)
             .where(tx.c.program_id == program_id, tx.c.kind == "earn", tx.c.amount_minor.is_not(None))
             .order_by(tx.c.id))
    return [(str(member), at, int(amount)) for member, at, amount in conn.execute(query)]


# Microseconds in a UTC day: Timestamp columns are integer microseconds since the epoch, so
# the day number is an integer division, the same SQL on SQLite and PostgreSQL.
_DAY_MICROS = 86_400_000_000


def _day(column: ColumnElement[Any]) -> ColumnElement[int]:
    return type_coerce(column, BigInteger) // _DAY_MICROS


def daily_postings(conn: Connection, program_id: str) -> dict[tuple[int, str], int]:
    """(UTC day, account) -> the sum of the program's postings to the account that day."""
    p, tx = t.postings, t.transactions
    day = _day(tx.c.occurred_at).label("day")
    query = (select(day, p.c.account, func.sum(p.c.amount))
             .select_from(p.join(tx, tx.c.id == p.c.transaction_id))
             .where(p.c.program_id == program_id)
             .group_by(day, p.c.account))
    return {(int(d), str(account)): int(total) for d, account, total in conn.execute(query)}


def daily_enrolments(conn: Connection, program_id: str) -> dict[int, int]:
    m = t.members
    day = _day(m.c.enrolled_at).label("day")
    query = select(day, func.count()).where(m.c.program_id == program_id).group_by(day)
    return {int(d): int(count) for d, count in conn.execute(query)}


def member_activity_days(conn: Connection, program_id: str) -> list[tuple[str, int]]:
    """(member id, UTC day) of each day a member bought (an earn with an order amount) or
    redeemed points: what makes a member active."""
    tx = t.transactions
    day = _day(tx.c.occurred_at).label("day")
    query = (select(tx.c.member_id, day)
             .where(tx.c.program_id == program_id,
                    or_(and_(tx.c.kind == "earn", tx.c.amount_minor.is_not(None)), tx.c.kind == "redeem"))
             .distinct())
    return [(str(member), int(d)) for member, d in conn.execute(query)]


def tier_counts(conn: Connection, program_id: str) -> dict[str, int]:
    mt = t.member_tiers
    query = select(mt.c.tier, func.count()).where(mt.c.program_id == program_id).group_by(mt.c.tier)
    return {str(tier): int(count) for tier, count in conn.execute(query)}
