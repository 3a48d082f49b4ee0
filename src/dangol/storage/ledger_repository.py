"""The repository of the ledger: loads member ledgers (locked, on the write side), saves
what they recorded, and reads history pages for the read side. One instance lives inside
one `Database.write()` or `Database.read()` transaction."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Table, func, insert, select

from ..domain import (
    Balances, EarnRate, Hold, HoldStatus, LotSource, Member, MemberLedger, MemberStatus,
    OrderHistory, PointLot, Program, ProgramPolicy, Rounding, TransactionKind,
)
from ..domain.errors import UnknownProgram
from . import tables as t
from .bulk import fetch_rows, insert_rows, mark as _mark, one_of, update_rows
from .types import Timestamp, from_micros, to_micros

@dataclass(frozen=True, slots=True)
class StatusChange:
    """A member's new status: set as of `occurred_at`, written at `recorded_at`."""

    member_id: str
    status: MemberStatus
    occurred_at: datetime
    recorded_at: datetime


CHUNK = 2_000  # ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits


def chunked(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


class LedgerRepository:
    def __init__(self, conn: Connection, programs: dict[str, Program] | None = None) -> None:
        """`programs` may be a cache shared across transactions: a program is never changed
        once created, so a found one can be remembered (an unknown one is not, so that a
        program created later is seen). A way to change programs must invalidate it."""
        self.conn = conn
        self.lock_rows = conn.dialect.name == "postgresql"
        self._programs: dict[str, Program] = {} if programs is None else programs

    # ------------------------------------------------------------ programs

    def add_program(self, program: Program) -> None:
        policy = program.policy
        self.conn.execute(insert(t.programs).values(
            id=program.id, name=program.name, currency=program.currency,
            lot_validity_days=policy.lot_validity_days, min_redemption=policy.min_redemption,
            allow_negative_balance=policy.allow_negative_balance, allow_transfers=policy.allow_transfers,
            hold_timeout_seconds=policy.hold_timeout_seconds, earn_rate_points=policy.earn_rate.points,
            earn_rate_per_minor_units=policy.earn_rate.per_minor_units, rounding=str(policy.rounding),
            created_at=program.created_at, mode="test" if program.test_mode else "live",
        ))
        if program.test_mode:
            self.conn.execute(insert(t.test_clocks).values(program_id=program.id, now=program.created_at,
                                                          advanced_at=program.created_at))

    def find_program(self, program_id: str) -> Program | None:
        if program_id not in self._programs:
            row = next(self._rows_in(t.programs, "id", [program_id]), None)
            if row is None:
                return None
            self._programs[program_id] = program_from_row(row)
        return self._programs[program_id]

    def get_program(self, program_id: str) -> Program:
        program = self.find_program(program_id)
        if program is None:
            raise UnknownProgram(f"no program {program_id!r}")
        return program

    def list_programs(self) -> list[Program]:
        rows = self.conn.execute(select(t.programs).order_by(t.programs.c.id)).mappings()
        return [program_from_row(row) for row in rows]

    # ------------------------------------------------------------ members

    def find_member(self, member_id: str) -> Member | None:
        row = self.conn.execute(select(t.members).where(t.members.c.id == member_id)).mappings().first()
        return None if row is None else member_from_row(row)

    def program_of_member(self, member_id: str) -> str | None:
        """The member's program id, or None for no such member: the one lookup a read needs
        to respect the program boundary (driver-level, it runs on every read)."""
        row = self.conn.exec_driver_sql(f"SELECT program_id FROM members WHERE id = {_mark(self.conn)}",
                                        (member_id,)).first()
        return None if row is None else row[0]

    def find_member_by_ref(self, program_id: str, external_ref: str) -> Member | None:
        row = self.conn.execute(select(t.members).where(
            t.members.c.program_id == program_id, t.members.c.external_ref == external_ref,
        )).mappings().first()
        return None if row is None else member_from_row(row)

    def existing_member_ids(self, member_ids: Sequence[str]) -> set[str]:
        """Which of these ids are members already, in any program."""
        found: set[str] = set()
        for chunk in chunked(list(member_ids)):
            found.update(self.conn.execute(select(t.members.c.id).where(t.members.c.id.in_(chunk))).scalars())
        return found

    def member_ids_for_refs(self, program_id: str, refs: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunked(list(refs)):
            rows = self.conn.execute(select(t.members.c.external_ref, t.members.c.id).where(
                t.members.c.program_id == program_id, t.members.c.external_ref.in_(chunk)))
            found.update({ref: member_id for ref, member_id in rows})
        return found

    # ------------------------------------------------------------ ledgers

    def load_ledgers(
        self,
        program: Program,
        member_ids: Iterable[str],
        *,
        with_lots: set[str] | None = None,
        order_refs: dict[str, set[str]] | None = None,
        lock: bool = True,
    ) -> dict[str, MemberLedger]:
        """Loads and, on PostgreSQL, locks the members (in id order, so that concurrent
        batches cannot deadlock). Lots and holds are loaded only for `with_lots`: earning
        needs neither, and it is most of the traffic."""
        ids = sorted(set(member_ids))
        with_lots = with_lots or set()
        members: dict[str, tuple[Member, Balances]] = {}
        for chunk in chunked(ids):
            # Driver-level SQL: this runs for every batch, on thousands of members.
            condition, params = one_of(self.conn, "id", chunk)
            sql = (f"SELECT id, program_id, external_ref, status, enrolled_at, available, pending, held, debt "
                   f"FROM members WHERE {condition} ORDER BY id")
            if lock and self.lock_rows:
                sql += " FOR UPDATE"
            for mid, pid, ref, status, enrolled, available, pending, held, debt in fetch_rows(self.conn, sql, params):
                members[mid] = (Member(mid, pid, ref, MemberStatus(status), from_micros(enrolled)),
                                Balances(available, pending, held, debt))
        lot_ids = sorted(m for m in with_lots if m in members)
        holds = self._active_holds(lot_ids)
        lots = self._open_lots(lot_ids, holds)
        orders = self._orders(order_refs or {})
        return {
            member_id: MemberLedger(
                program, member, balances,
                lots=lots.get(member_id, []) if member_id in with_lots else None,
                holds=holds.get(member_id, []) if member_id in with_lots else None,
                orders=orders.get(member_id),
            )
            for member_id, (member, balances) in members.items()
            if member.program_id == program.id
        }

    def hold_members(self, hold_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """hold id -> (program id, member id)."""
        found: dict[int, tuple[str, str]] = {}
        for chunk in chunked(list(hold_ids)):
            rows = self.conn.execute(select(t.holds.c.id, t.holds.c.program_id, t.holds.c.member_id)
                                     .where(t.holds.c.id.in_(chunk)))
            found.update({hold_id: (program_id, member_id) for hold_id, program_id, member_id in rows})
        return found

    def hold(self, hold_id: int) -> Hold | None:
        row = self.conn.execute(select(t.holds).where(t.holds.c.id == hold_id)).mappings().first()
        return None if row is None else hold_from_row(row)

    def _active_holds(self, member_ids: list[str]) -> dict[str, list[Hold]]:
        found: dict[str, list[Hold]] = defaultdict(list)
        # The literal condition is ix_holds_member_id_active's own.
        for row in self._rows_in(t.holds, "member_id", member_ids, f"status = '{HoldStatus.ACTIVE.value}'"):
            found[row["member_id"]].append(hold_from_row(row))
        return found

    def _open_lots(self, member_ids: list[str], holds: dict[str, list[Hold]]) -> dict[str, list[PointLot]]:
        """Lots that hold points or are pending, plus the lots active holds drew from
        (a void gives points back to them even when they are empty)."""
        found: dict[str, dict[int, PointLot]] = defaultdict(dict)
        # Word for word the condition of the partial index ix_lots_member_id_live, so that
        # both engines look the members up in it (SQLite matches the text of the condition).
        for row in self._rows_in(t.lots, "member_id", member_ids, t.LIVE_LOT):
            found[row["member_id"]][row["id"]] = lot_from_row(row)
        drawn = sorted({lot_id for hs in holds.values() for h in hs for lot_id, _ in h.drawn})
        for row in self._rows_in(t.lots, "id", drawn):
            found[row["member_id"]].setdefault(row["id"], lot_from_row(row))
        return {member_id: list(lots.values()) for member_id, lots in found.items()}

    def _rows_in(self, table: Table, column: str, values: Sequence[Any], condition: str | None = None,
                 ) -> Iterator[dict[str, Any]]:
        """Whole rows of `table` whose `column` is one of `values` (and that meet `condition`),
        with timestamps as datetimes. Driver-level SQL: these lookups run for every ledger
        a read or a write loads, and building SQLAlchemy statements for them cost several
        times what the database took."""
        names, timestamps = _row_shape(table)
        where = f" AND ({condition})" if condition else ""
        for chunk in chunked(values):
            matches, params = one_of(self.conn, column, chunk)
            sql = f"SELECT {', '.join(names)} FROM {table.name} WHERE {matches}{where}"
            for fields in fetch_rows(self.conn, sql, params):
                yield _driver_row(names, timestamps, fields)

    def _orders(self, order_refs: dict[str, set[str]]) -> dict[str, dict[str, OrderHistory]]:
        pairs = sorted((m, ref) for m, refs in order_refs.items() for ref in refs)
        orders: dict[str, dict[str, OrderHistory]] = defaultdict(dict)
        for member_id, ref in pairs:
            orders[member_id][ref] = OrderHistory(ref)
        txn, ref_table = t.transactions, t.refunds
        for chunk in chunked(pairs, 500):
            members = sorted({m for m, _ in chunk})
            refs = sorted({r for _, r in chunk})
            earned = self.conn.execute(
                select(txn.c.member_id, txn.c.order_ref, func.sum(txn.c.points),
                       func.coalesce(func.sum(txn.c.amount_minor), 0), func.max(txn.c.currency))
                .where(txn.c.member_id.in_(members), txn.c.order_ref.in_(refs),
                       txn.c.kind == TransactionKind.EARN.value)
                .group_by(txn.c.member_id, txn.c.order_ref))
            for member_id, ref, points, amount, currency in earned:
                if ref in orders[member_id]:
                    orders[member_id][ref] = OrderHistory(ref, currency, int(amount), int(points))
            refunded = self.conn.execute(
                select(ref_table.c.member_id, ref_table.c.order_ref,
                       func.coalesce(func.sum(ref_table.c.amount_minor), 0),
                       func.sum(ref_table.c.clawed_back + ref_table.c.uncollected))
                .where(ref_table.c.member_id.in_(members), ref_table.c.order_ref.in_(refs))
                .group_by(ref_table.c.member_id, ref_table.c.order_ref))
            for member_id, ref, amount, clawed in refunded:
                if ref in orders[member_id]:
                    order = orders[member_id][ref]
                    orders[member_id][ref] = OrderHistory(
                        ref, order.currency, order.amount, order.earned_points, int(amount), int(clawed))
        return orders

    # ------------------------------------------------------------ history

    def history_rows(self, member_id: str, before: int | None, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` transactions that touched the member (their own, and transfers they
        received), newest first, with ids below `before`; timestamps as datetimes."""
        params = (member_id, _NO_CURSOR if before is None else before, limit) * 2 + (limit,)
        rows = fetch_rows(self.conn, _history_sql(_mark(self.conn)), params)
        return [_driver_row(HISTORY_COLUMNS, _HISTORY_TIMESTAMPS, fields) for fields in rows]

    def postings_of(self, transaction_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """transaction id -> its postings in line order, for a page of transactions."""
        found: dict[int, list[dict[str, Any]]] = {i: [] for i in transaction_ids}
        for chunk in chunked(list(transaction_ids)):
            matches, params = one_of(self.conn, "transaction_id", chunk)
            rows = fetch_rows(self.conn, f"SELECT transaction_id, account, member_id, amount, rule_id FROM postings "
                                         f"WHERE {matches} ORDER BY transaction_id, line", params)
            for transaction_id, account, member_id, amount, rule_id in rows:
                found[transaction_id].append({"account": account, "member_id": member_id, "amount": amount,
                                              "rule_id": rule_id})
        return found

    # ------------------------------------------------------------ saving

    def add_members(self, members: Sequence[Member]) -> None:
        insert_rows(self.conn, t.members, ("id", "program_id", "external_ref", "status", "enrolled_at", "available",
                                           "pending", "held", "debt"), [
            (m.id, m.program_id, m.external_ref, m.status.value, to_micros(m.enrolled_at), 0, 0, 0, 0)
            for m in members
        ])

    def save(self, ledgers: Iterable[MemberLedger], recorded_at: datetime) -> None:
        """Writes everything the ledgers recorded, in one multi-row statement per table."""
        recorded = to_micros(recorded_at)
        txn_rows: list[tuple[Any, ...]] = []
        posting_rows: list[tuple[Any, ...]] = []
        new_lots: list[tuple[Any, ...]] = []
        lot_updates: list[tuple[Any, ...]] = []
        movement_rows: list[tuple[Any, ...]] = []
        new_holds: list[tuple[Any, ...]] = []
        hold_updates: list[tuple[Any, ...]] = []
        refund_rows: list[tuple[Any, ...]] = []
        member_rows: list[tuple[Any, ...]] = []
        for ledger in ledgers:
            rec = ledger.recorded
            program_id = ledger.program.id
            for txn in rec.transactions:
                money = txn.money
                txn_rows.append((
                    txn.id, program_id, txn.member_id, txn.kind.value, txn.points, to_micros(txn.occurred_at),
                    recorded, txn.order_ref, money.amount if money else None, money.currency if money else None,
                    txn.reason, txn.hold_id, txn.counterparty_id, txn.rule_id, txn.ruleset_hash,
                ))
                posting_rows.extend(
                    (txn.id, line, program_id, p.member_id, p.account.value, p.amount, p.rule_id)
                    for line, p in enumerate(txn.postings))
            for lot_id in rec.new_lot_ids:
                new_lots.append(lot_tuple(ledger.lots[lot_id], program_id))
            for lot_id in rec.touched_lot_ids:
                lot = ledger.lots[lot_id]
                lot_updates.append((lot.remaining, lot.released, lot.id))
            movement_rows.extend((m.lot_id, m.transaction_id, m.kind.value, m.amount) for m in rec.movements)
            for hold_id in rec.new_hold_ids:
                new_holds.append(hold_tuple(ledger.holds[hold_id]))
            for hold_id in rec.touched_hold_ids - rec.new_hold_ids:
                hold = ledger.holds[hold_id]
                hold_updates.append((hold.status.value, hold.captured, micros_or_none(hold.closed_at), hold.id))
            refund_rows.extend(
                (program_id, r.member_id, r.order_ref, r.money.amount if r.money else None,
                 r.money.currency if r.money else None, r.clawed_back, r.uncollected, r.transaction_id,
                 to_micros(r.recorded_at))
                for r in rec.refunds)
            if rec.balances_changed or rec.member_changed:
                b = ledger.balances
                member_rows.append((ledger.member.status.value, b.available, b.pending, b.held, b.debt,
                                    ledger.member.id))
        conn = self.conn
        insert_rows(conn, t.transactions, TRANSACTION_COLUMNS, txn_rows)
        insert_rows(conn, t.postings, POSTING_COLUMNS, posting_rows)
        insert_rows(conn, t.lots, LOT_COLUMNS, new_lots)
        update_rows(conn, t.lots, ("remaining", "released"), "id", lot_updates)
        insert_rows(conn, t.lot_movements, ("lot_id", "transaction_id", "kind", "amount"), movement_rows)
        insert_rows(conn, t.holds, HOLD_COLUMNS, new_holds)
        update_rows(conn, t.holds, ("status", "captured", "closed_at"), "id", hold_updates)
        insert_rows(conn, t.refunds, REFUND_COLUMNS, refund_rows)
        update_rows(conn, t.members, ("status", "available", "pending", "held", "debt"), "id", member_rows)

    def save_status_changes(self, ledgers: Iterable[MemberLedger], recorded_at: datetime) -> None:
        """The status changes the ledgers recorded, into the members' status history."""
        recorded = to_micros(recorded_at)
        insert_rows(self.conn, t.member_status_history, STATUS_HISTORY_COLUMNS, [
            (ledger.program.id, ledger.member.id, status.value, to_micros(at), recorded)
            for ledger in ledgers for status, at in ledger.recorded.status_changes])

    def status_history(self, program_id: str) -> list[StatusChange]:
        """Every status change of the program's members, in the order they were recorded."""
        h = t.member_status_history
        return [StatusChange(row.member_id, MemberStatus(row.status), row.occurred_at, row.recorded_at)
                for row in self.conn.execute(select(h).where(h.c.program_id == program_id)
                                             .order_by(h.c.recorded_at, h.c.id))]

    # ------------------------------------------------------------ idempotency

    def idempotent_responses(self, scope: str, keys: Sequence[str]) -> dict[str, tuple[str, Any]]:
        """key -> (fingerprint, response) for the keys already used in `scope`."""
        found: dict[str, tuple[str, Any]] = {}
        for chunk in chunked(list(keys)):
            matches, params = one_of(self.conn, "key", chunk)
            rows = fetch_rows(self.conn, f"SELECT key, fingerprint, response FROM idempotency_keys "
                                         f"WHERE scope = {_mark(self.conn)} AND {matches}", (scope, *params))
            found.update({key: (fingerprint, orjson.loads(response)) for key, fingerprint, response in rows})
        return found

    def remember_responses(self, scope: str, rows: Sequence[tuple[str, str, Any]], at: datetime) -> None:
        created = to_micros(at)
        insert_rows(self.conn, t.idempotency_keys, ("scope", "key", "fingerprint", "response", "created_at"), [
            (scope, key, fingerprint, orjson.dumps(response).decode(), created)
            for key, fingerprint, response in rows
        ])

    # ------------------------------------------------------------ expiry

    def members_with_due_work(self, program_id: str, at: datetime, after: str | None, limit: int) -> list[str]:
        """Members of a program with lots to expire or release, or holds timed out, by member id."""
        lots, holds = t.lots, t.holds

        def cursor(member_id: ColumnElement[str]) -> ColumnElement[bool]:
            return member_id > after if after is not None else member_id.isnot(None)

        due_lots = select(lots.c.member_id).where(
            lots.c.program_id == program_id, lots.c.remaining > 0, lots.c.expires_at <= at,
            cursor(lots.c.member_id))
        pending = select(lots.c.member_id).where(
            lots.c.program_id == program_id, lots.c.released.is_(False), lots.c.available_at <= at,
            cursor(lots.c.member_id))
        due_holds = select(holds.c.member_id).where(
            holds.c.program_id == program_id, holds.c.status == HoldStatus.ACTIVE.value,
            holds.c.expires_at <= at, cursor(holds.c.member_id))
        union = due_lots.union(pending, due_holds).subquery()
        rows = self.conn.execute(select(union.c.member_id).order_by(union.c.member_id).limit(limit))
        return [member_id for (member_id,) in rows]


@cache
def _row_shape(table: Table) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(column names, names of the timestamp columns): the conversion SQLAlchemy's
    Timestamp type would do, for rows read by the driver."""
    names = tuple(table.c.keys())
    return names, tuple(name for name in names if isinstance(table.c[name].type, Timestamp))


def _driver_row(names: Sequence[str], timestamps: Sequence[str], fields: Sequence[Any]) -> dict[str, Any]:
    row = dict(zip(names, fields))
    for name in timestamps:
        if row[name] is not None:
            row[name] = from_micros(row[name])
    return row


# ---------------------------------------------------------------- history SQL

HISTORY_COLUMNS = ("id", "kind", "points", "occurred_at", "recorded_at", "order_ref", "amount_minor", "currency",
                   "reason", "hold_id", "counterparty_id", "rule_id", "ruleset_hash")
_NO_CURSOR = 2**63 - 1  # above every id, so the first page needs no statement of its own


@cache
def _history_sql(mark: str) -> str:
    """Built once per placeholder style, run by the driver: a page is read on every history
    call, and building it with SQLAlchemy cost as much Python as the database took.
    Each side of the UNION ALL is a range scan of its own index ((member_id, id) and
    (counterparty_id, id)), newest first and cut at the page size, so a page costs the same
    however long the member's history is."""
    columns = ", ".join(HISTORY_COLUMNS)

    def side(column: str, alias: str) -> str:
        return (f"SELECT * FROM (SELECT {columns} FROM transactions WHERE {column} = {mark} AND id < {mark} "
                f"ORDER BY id DESC LIMIT {mark}) AS {alias}")

    return (f"SELECT {columns} FROM ({side('member_id', 'own')} UNION ALL {side('counterparty_id', 'received')}) "
            f"AS page ORDER BY id DESC LIMIT {mark}")


_HISTORY_TIMESTAMPS = tuple(name for name in HISTORY_COLUMNS if name in _row_shape(t.transactions)[1])


# ---------------------------------------------------------------- row mapping

def program_from_row(row: Any) -> Program:
    return Program(
        id=row["id"], name=row["name"], currency=row["currency"], created_at=row["created_at"],
        test_mode=row["mode"] == "test", policy=ProgramPolicy(
            lot_validity_days=row["lot_validity_days"], min_redemption=row["min_redemption"],
            allow_negative_balance=bool(row["allow_negative_balance"]),
            allow_transfers=bool(row["allow_transfers"]), hold_timeout_seconds=row["hold_timeout_seconds"],
            earn_rate=EarnRate(row["earn_rate_points"], row["earn_rate_per_minor_units"]),
            rounding=Rounding(row["rounding"]),
        ),
    )


def member_from_row(row: Any) -> Member:
    return Member(row["id"], row["program_id"], row["external_ref"], MemberStatus(row["status"]), row["enrolled_at"])


def lot_from_row(row: Any) -> PointLot:
    return PointLot(
        id=row["id"], member_id=row["member_id"], transaction_id=row["transaction_id"],
        source=LotSource(row["source"]), amount=row["amount"], remaining=row["remaining"],
        earned_at=row["earned_at"], expires_at=row["expires_at"], available_at=row["available_at"],
        released=bool(row["released"]), order_ref=row["order_ref"],
    )


TRANSACTION_COLUMNS = ("id", "program_id", "member_id", "kind", "points", "occurred_at", "recorded_at",
                       "order_ref", "amount_minor", "currency", "reason", "hold_id", "counterparty_id",
                       "rule_id", "ruleset_hash")
STATUS_HISTORY_COLUMNS = ("program_id", "member_id", "status", "occurred_at", "recorded_at")
POSTING_COLUMNS = ("transaction_id", "line", "program_id", "member_id", "account", "amount", "rule_id")
LOT_COLUMNS = ("id", "program_id", "member_id", "transaction_id", "source", "amount", "remaining", "earned_at",
               "available_at", "expires_at", "released", "order_ref")
HOLD_COLUMNS = ("id", "program_id", "member_id", "amount", "status", "created_at", "expires_at", "transaction_id",
                "drawn", "captured", "closed_at", "order_ref")
REFUND_COLUMNS = ("program_id", "member_id", "order_ref", "amount_minor", "currency", "clawed_back", "uncollected",
                  "transaction_id", "recorded_at")


def micros_or_none(moment: datetime | None) -> int | None:
    return None if moment is None else to_micros(moment)


def lot_tuple(lot: PointLot, program_id: str) -> tuple[Any, ...]:
    return (lot.id, program_id, lot.member_id, lot.transaction_id, lot.source.value, lot.amount, lot.remaining,
            to_micros(lot.earned_at), to_micros(lot.available_at), to_micros(lot.expires_at), lot.released,
            lot.order_ref)


def hold_from_row(row: Any) -> Hold:
    return Hold(
        id=row["id"], program_id=row["program_id"], member_id=row["member_id"], amount=row["amount"],
        status=HoldStatus(row["status"]), created_at=row["created_at"], expires_at=row["expires_at"],
        transaction_id=row["transaction_id"], drawn=tuple(tuple(pair) for pair in json.loads(row["drawn"])),
        captured=row["captured"], closed_at=row["closed_at"], order_ref=row["order_ref"],
    )


def hold_tuple(hold: Hold) -> tuple[Any, ...]:
    return (hold.id, hold.program_id, hold.member_id, hold.amount, hold.status.value, to_micros(hold.created_at),
            to_micros(hold.expires_at), hold.transaction_id, json.dumps([list(pair) for pair in hold.drawn]),
            hold.captured, micros_or_none(hold.closed_at), hold.order_ref)



