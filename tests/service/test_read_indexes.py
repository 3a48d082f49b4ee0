"""A member's balance and history are read on every visit to their screen, and the lots
behind a balance are loaded by every redeem, hold and refund: each lookup must go through
an index. On a ledger of millions of lots a scan turns a millisecond read into half a
second, and a small test database would never show it in the timings, so these tests read
the query plans. They also check that the index-friendly lot query still finds every lot
a ledger needs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from dangol.domain import FixedClock, Money, ProgramPolicy
from dangol.domain.commands import Earn, PlaceHold, Reverse, Transfer, VoidHold
from dangol.service.container import Services
from dangol.storage.database import Database
from dangol.storage.ledger_repository import LedgerRepository

Statement = tuple[str, Any]


@contextmanager
def statements_reading(db: Database, table: str) -> Iterator[list[Statement]]:
    """The SQL (with its parameters) sent to the database that reads `table`."""
    seen: list[Statement] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if re.search(rf"\bFROM {table}\b", statement):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)


def query_plan(db: Database, statement: Statement) -> str:
    sql, parameters = statement
    with db.read() as conn:
        if db.is_sqlite:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)
            return "\n".join(row[-1] for row in rows)
        # A test table is tiny and PostgreSQL would rightly scan it; with sequential scans
        # priced out, the plan says whether an index *can* serve the query.
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}", parameters))


def scans(plan: str, table: str) -> bool:
    """Whether the plan reads all of `table` (or all of one of its indexes)."""
    return bool(re.search(rf"\bSCAN {table}\b|Seq Scan on {table}\b", plan))


def pending_and_held(services: Services, program_id: str, member: str, clock: FixedClock) -> int:
    """A member with every kind of lot a ledger must load; returns the active hold's id."""
    in_two_weeks = clock.now() + timedelta(days=14)
    services.ledger.run(program_id, Earn(member, points=1_000))
    services.ledger.run(program_id, Earn(member, points=2_000))
    services.ledger.run(program_id, Earn(member, points=500, available_at=in_two_weeks))  # pending
    services.ledger.run(program_id, Earn(member, money=Money(10_000, "KRW"), order_ref="o-1",
                                         available_at=in_two_weeks))  # pending, 500 points ...
    services.ledger.run(program_id, Reverse(member, "o-1"))  # ... refunded: pending and empty
    return services.ledger.run(program_id, PlaceHold(member, 1_000))["hold"]["id"]  # empties the first lot


def test_balance_finds_the_members_lots_through_the_member_index(
        services: Services, clock: FixedClock, program_id: str, enroll: Callable[..., str]) -> None:
    member = enroll("alice")
    pending_and_held(services, program_id, member, clock)
    with statements_reading(services.db, "lots") as statements:
        services.reader.balance(program_id, member)
    assert len(statements) == 2  # the member's live lots, then the lots the active hold drew
    by_member, drawn = (query_plan(services.db, statement) for statement in statements)
    assert "ix_lots_member_id_live" in by_member, by_member
    for plan in (by_member, drawn):
        assert not scans(plan, "lots"), plan
        assert not re.search(r"ix_lots_(?!member_id_live)", plan), plan  # no other index read whole


def test_history_reads_its_page_through_indexes(
        services: Services, program_id: str, enroll: Callable[..., str]) -> None:
    services.programs.create_program("gifting", "Gifting", "KRW", ProgramPolicy(allow_transfers=True))
    alice, bob = enroll("alice", "gifting"), enroll("bob", "gifting")
    services.ledger.run("gifting", Earn(bob, points=2_000))
    services.ledger.run("gifting", Transfer(bob, alice, 500))
    with statements_reading(services.db, "transactions") as page, statements_reading(services.db, "postings") as lines:
        assert len(services.reader.history("gifting", alice, limit=20).items) == 1
    assert len(page) == 1 and len(lines) == 1
    page_plan = query_plan(services.db, page[0])
    assert "ix_transactions_member_id_id" in page_plan and "ix_transactions_counterparty_id_id" in page_plan
    assert not scans(page_plan, "transactions"), page_plan
    assert not scans(query_plan(services.db, lines[0]), "postings")


def test_a_ledger_loads_every_lot_with_points_every_pending_lot_and_the_lots_holds_drew(
        services: Services, clock: FixedClock, program_id: str, enroll: Callable[..., str]) -> None:
    member, other = enroll("alice"), enroll("bob")
    pending_and_held(services, program_id, member, clock)
    services.ledger.run(program_id, Earn(other, points=300))
    with services.db.read() as conn:
        every = {row.id: row for row in conn.exec_driver_sql(
            "SELECT id, remaining, released FROM lots WHERE member_id = " + ("?" if services.db.is_sqlite else "%s"),
            (member,))}
        repo = LedgerRepository(conn)
        ledger = repo.load_ledgers(repo.get_program(program_id), [member], with_lots={member}, lock=False)[member]
    emptied_pending = [i for i, row in every.items() if row.remaining == 0 and not row.released]
    drawn = [i for i, row in every.items() if row.remaining == 0 and row.released]
    assert len(every) == 4 and len(emptied_pending) == 1 and len(drawn) == 1
    assert set(ledger.lots) == set(every)  # no lot of bob's, none of alice's missing


def test_balance_counts_pending_lots_and_what_active_holds_drew(
        services: Services, clock: FixedClock, program_id: str, enroll: Callable[..., str]) -> None:
    member = enroll("alice")
    hold = pending_and_held(services, program_id, member, clock)
    balance = services.reader.balance(program_id, member)
    assert (balance["available"], balance["pending"], balance["held"]) == (2_000, 500, 1_000)
    services.ledger.run(program_id, VoidHold(hold))  # gives the points back to the emptied lot
    balance = services.reader.balance(program_id, member)
    assert (balance["available"], balance["pending"], balance["held"]) == (3_000, 500, 0)
    assert balance["expiring_soon"]["points"] == 0
    clock.advance(days=15)
    balance = services.reader.balance(program_id, member)
    assert (balance["available"], balance["pending"], balance["held"]) == (3_500, 0, 0)
