"""What the insight models read: purchases (earn transactions carrying the order's amount),
one row per purchase, pseudonymous (member ids, never names or contact details)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from . import tables as t


def purchases(conn: Connection, program_id: str) -> list[tuple[str, datetime, int]]:
    """(member id, occurred_at, amount in minor units) of every purchase of the program."""
    tx = t.transactions
    query = (select(tx.c.member_id, tx.c.occurred_at, tx.c.amount_minor)
             .where(tx.c.program_id == program_id, tx.c.kind == "earn", tx.c.amount_minor.is_not(None))
             .order_by(tx.c.id))
    return [(str(member), at, int(amount)) for member, at, amount in conn.execute(query)]
