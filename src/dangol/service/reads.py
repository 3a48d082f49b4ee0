"""The read side: balances, lots and history, as of now. Reads never take the write lock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count
from typing import Any, NoReturn

from sqlalchemy import Connection, select

from ..domain import MemberLedger, Program
from ..domain.clock import Clock, SystemClock
from ..domain.errors import InvalidRequest, ProgramMismatch, UnknownHold, UnknownMember
from ..storage import tables as t
from ..storage.database import Database
from ..storage.ledger_repository import LedgerRepository, lot_from_row
from . import receipts

EXPIRING_WINDOW = timedelta(days=30)
MAX_PAGE = 200


class _Scratch:
    """Ids for a ledger settled in memory only, to show what is due without writing it."""

    def __init__(self) -> None:
        self._counter = count(-1, -1)

    def next_id(self, kind: str) -> int:
        return next(self._counter)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


class LedgerReader:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self._programs: dict[str, Program] = {}  # see LedgerRepository: read once per process

    def _repo(self, conn: Connection) -> LedgerRepository:
        return LedgerRepository(conn, self._programs)

    def member(self, program_id: str, member_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            return receipts.member_json(self._ledger(self._repo(conn), program_id, member_id).member)

    def member_by_ref(self, program_id: str, external_ref: str) -> dict[str, Any]:
        with self.db.read() as conn:
            member = self._repo(conn).find_member_by_ref(program_id, external_ref)
        if member is None:
            raise UnknownMember(f"no member with reference {external_ref!r} in program {program_id}")
        return receipts.member_json(member)

    def balance(self, program_id: str, member_id: str, at: datetime | None = None) -> dict[str, Any]:
        """Balances as of `at` (now): lots past their expiry and timed-out holds count as
        gone even before the expiry job has written it down, exactly as the next write would."""
        return self.balance_and_expiring(program_id, member_id, at)[0]

    def balance_and_expiring(self, program_id: str, member_id: str,
                             at: datetime | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """`balance`, and the lots in its `expiring_soon` (soonest first: when, and how many
        points), from one read: the member portal shows the exact dates."""
        at = at or self.clock.now()
        with self.db.read() as conn:
            ledger = self._ledger(self._repo(conn), program_id, member_id, lots=True)
        ledger.settle(at, _Scratch())
        horizon = at + EXPIRING_WINDOW
        expiring = sorted((lot for lot in ledger.spendable_lots(at) if lot.expires_at <= horizon),
                          key=lambda lot: lot.expires_at)
        balances = ledger.balances
        return {
            "member_id": member_id, "as_of": receipts.iso(at),
            "available": max(0, balances.available), "pending": balances.pending, "held": balances.held,
            "debt": balances.debt,
            "expiring_soon": {
                "within_days": EXPIRING_WINDOW.days, "points": sum(lot.remaining for lot in expiring),
                "next_expiry": receipts.iso(expiring[0].expires_at) if expiring else None,
            },
        }, [{"expires_at": lot.expires_at, "points": lot.remaining} for lot in expiring]

    def lots(self, program_id: str, member_id: str, *, include_spent: bool = False,
             cursor: str | None = None, limit: int = 50) -> Page:
        limit = _limit(limit)
        after = _cursor(cursor)
        with self.db.read() as conn:
            _check_member(self._repo(conn), program_id, member_id)
            query = select(t.lots).where(t.lots.c.member_id == member_id)
            if not include_spent:
                query = query.where(t.lots.c.remaining > 0)
            if after is not None:
                query = query.where(t.lots.c.id > after)
            rows = conn.execute(query.order_by(t.lots.c.id).limit(limit + 1)).mappings().all()
        items = [receipts.lot_json(lot_from_row(row)) for row in rows[:limit]]
        return Page(items, str(rows[limit - 1]["id"]) if len(rows) > limit else None)

    def history(self, program_id: str, member_id: str, *, cursor: str | None = None, limit: int = 20) -> Page:
        """Transactions that touched the member, newest first."""
        limit = _limit(limit)
        before = _cursor(cursor)
        with self.db.read() as conn:
            repo = self._repo(conn)
            _check_member(repo, program_id, member_id)
            rows = repo.history_rows(member_id, before, limit + 1)
            postings = repo.postings_of([row["id"] for row in rows[:limit]])
        items = []
        for row in rows[:limit]:
            lines = postings[row["id"]]
            items.append({
                "id": row["id"], "kind": row["kind"], "points": row["points"],
                "change": sum(p["amount"] for p in lines if p["member_id"] == member_id and p["account"] == "available"),
                "occurred_at": receipts.iso(row["occurred_at"]), "recorded_at": receipts.iso(row["recorded_at"]),
                "order_ref": row["order_ref"],
                "money": {"amount": row["amount_minor"], "currency": row["currency"]} if row["currency"] else None,
                "reason": row["reason"], "hold_id": row["hold_id"], "counterparty_id": row["counterparty_id"],
                "rule_id": row["rule_id"], "ruleset_hash": row["ruleset_hash"],
                "postings": lines,
            })
        return Page(items, str(rows[limit - 1]["id"]) if len(rows) > limit else None)

    def hold(self, program_id: str, hold_id: int) -> dict[str, Any]:
        with self.db.read() as conn:
            hold = self._repo(conn).hold(hold_id)
        if hold is None or hold.program_id != program_id:
            raise UnknownHold(f"no hold {hold_id} in program {program_id}")
        return receipts.hold_json(hold)

    @staticmethod
    def _ledger(repo: LedgerRepository, program_id: str, member_id: str, lots: bool = False) -> MemberLedger:
        program = repo.get_program(program_id)
        ledger = repo.load_ledgers(program, [member_id], with_lots={member_id} if lots else None,
                                   lock=False).get(member_id)
        if ledger is None:
            _refuse(repo, program_id, member_id, repo.program_of_member(member_id))
        return ledger


def _check_member(repo: LedgerRepository, program_id: str, member_id: str) -> None:
    """Refuses, as loading the member's ledger would, unless the member is in the program.
    One primary-key lookup: a member's program exists (foreign key), so it need not be read."""
    owner = repo.program_of_member(member_id)
    if owner != program_id:
        _refuse(repo, program_id, member_id, owner)


def _refuse(repo: LedgerRepository, program_id: str, member_id: str, owner: str | None) -> NoReturn:
    repo.get_program(program_id)  # an unknown program is reported first
    if owner is not None:
        raise ProgramMismatch(f"member {member_id} belongs to another program")
    raise UnknownMember(f"no member {member_id!r} in program {program_id}")


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
    return limit


def _cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidRequest("invalid cursor")
    return int(cursor)
