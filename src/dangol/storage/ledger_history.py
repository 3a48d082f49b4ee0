"""A program's ledger as it is stored, read whole: every transaction with its postings, the
lots it created and the lot movements it made, and the holds, refunds and coupons beside
them, as plain values (nothing validated: replay reads ledgers that may have been tampered
with). Replay reads the program's database and its scratch ledger with it, and compares."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select

from . import tables as t


@dataclass(frozen=True, slots=True)
class LotRow:
    """A lot as its transaction created it (what later movements change is not kept)."""

    id: int
    source: str
    amount: int
    earned_at: datetime
    available_at: datetime
    expires_at: datetime
    order_ref: str | None


@dataclass(frozen=True, slots=True)
class TransactionRow:
    id: int
    member_id: str
    kind: str
    points: int
    occurred_at: datetime
    recorded_at: datetime
    order_ref: str | None
    money: tuple[int, str] | None
    reason: str | None
    hold_id: int | None
    counterparty_id: str | None
    rule_id: str | None
    ruleset_hash: str | None
    postings: tuple[tuple[str, str | None, int, str | None], ...]  # (account, member, amount, rule), by line
    lots: tuple[LotRow, ...] = ()  # created by it, by id
    movements: tuple[tuple[int, str, int], ...] = ()  # (lot id, kind, amount)

    def posted(self, account: str, member_id: str | None = None) -> int:
        """The net amount posted to `account` (a member's, when `member_id` is given)."""
        return sum(amount for name, member, amount, _ in self.postings
                   if name == account and (member_id is None or member == member_id))

    def earned_by_rule(self) -> list[tuple[str, str, int]]:
        """(rule, member, points) of each rule the earn pays, in line order: a transaction
        whose postings name their rules (an event's, one per member), or an earlier one that
        names its one rule on the transaction (one per rule)."""
        credits = [(rule, member, amount) for account, member, amount, rule in self.postings
                   if account in ("available", "pending") and amount > 0 and member is not None]
        if any(rule is not None for rule, _, _ in credits):
            return [(rule, member, amount) for rule, member, amount in credits if rule is not None]
        if self.rule_id is None:
            return []
        return [(self.rule_id, member, amount) for _, member, amount in credits]


@dataclass(frozen=True, slots=True)
class HoldRow:
    id: int
    member_id: str
    amount: int
    status: str  # active, captured, voided, or expired (timed out)
    created_at: datetime
    expires_at: datetime
    order_ref: str | None


@dataclass(frozen=True, slots=True)
class RefundRow:
    id: int
    member_id: str
    order_ref: str
    money: tuple[int, str] | None
    clawed_back: int
    uncollected: int
    transaction_id: int | None
    recorded_at: datetime  # the time the refund took effect (an import's is in the past)


@dataclass(frozen=True, slots=True)
class CouponRow:
    code: str
    member_id: str
    template: str
    name: str
    benefit: str
    value: int
    cap: int | None
    source: str
    issued_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None


@dataclass
class LedgerHistory:
    transactions: list[TransactionRow] = field(default_factory=list)  # by id
    holds: dict[int, HoldRow] = field(default_factory=dict)
    refunds: list[RefundRow] = field(default_factory=list)  # in the order they were written
    coupons: dict[str, CouponRow] = field(default_factory=dict)


def _money(amount: int | None, currency: str | None) -> tuple[int, str] | None:
    return None if amount is None or currency is None else (int(amount), str(currency))


def read_ledger_history(conn: Connection, program_id: str) -> LedgerHistory:
    """The program's whole ledger, in a few queries."""
    T, P, L, M = t.transactions, t.postings, t.lots, t.lot_movements
    postings: dict[int, list[tuple[str, str | None, int, str | None]]] = defaultdict(list)
    for row in conn.execute(select(P.c.transaction_id, P.c.account, P.c.member_id, P.c.amount, P.c.rule_id)
                            .where(P.c.program_id == program_id).order_by(P.c.transaction_id, P.c.line)):
        postings[row.transaction_id].append((row.account, row.member_id, int(row.amount), row.rule_id))
    lots: dict[int, list[LotRow]] = defaultdict(list)
    for row in conn.execute(select(L).where(L.c.program_id == program_id).order_by(L.c.id)):
        lots[row.transaction_id].append(LotRow(row.id, row.source, int(row.amount), row.earned_at,
                                               row.available_at, row.expires_at, row.order_ref))
    movements: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    for row in conn.execute(select(M.c.transaction_id, M.c.lot_id, M.c.kind, M.c.amount)
                            .join(T, T.c.id == M.c.transaction_id).where(T.c.program_id == program_id)
                            .order_by(M.c.id)):
        movements[row.transaction_id].append((row.lot_id, row.kind, int(row.amount)))
    history = LedgerHistory()
    for row in conn.execute(select(T).where(T.c.program_id == program_id).order_by(T.c.id)):
        history.transactions.append(TransactionRow(
            row.id, row.member_id, row.kind, int(row.points), row.occurred_at, row.recorded_at, row.order_ref,
            _money(row.amount_minor, row.currency), row.reason, row.hold_id, row.counterparty_id, row.rule_id,
            row.ruleset_hash, tuple(postings.get(row.id, ())), tuple(lots.get(row.id, ())),
            tuple(movements.get(row.id, ()))))
    H = t.holds
    for row in conn.execute(select(H).where(H.c.program_id == program_id)):
        history.holds[row.id] = HoldRow(row.id, row.member_id, int(row.amount), row.status, row.created_at, row.expires_at,
                                        row.order_ref)
    R = t.refunds
    for row in conn.execute(select(R).where(R.c.program_id == program_id).order_by(R.c.id)):
        history.refunds.append(RefundRow(row.id, row.member_id, row.order_ref, _money(row.amount_minor, row.currency),
                                         int(row.clawed_back), int(row.uncollected), row.transaction_id,
                                         row.recorded_at))
    C = t.engagement_coupons
    for row in conn.execute(select(C).where(C.c.program_id == program_id)):
        history.coupons[row.code] = CouponRow(row.code, row.member_id, row.template, row.name, row.benefit,
                                              int(row.value), row.cap, row.source, row.issued_at, row.expires_at,
                                              row.redeemed_at)
    return history


def remembered_receipts(conn: Connection, program_id: str, *contains: str,
                        key_prefix: str = "") -> list[tuple[str, datetime, dict[str, Any]]]:
    """The receipts of the program's requests (idempotency keys) whose key starts with
    `key_prefix` and whose stored text contains every one of `contains`, each with its key
    and the time it was stored (its write's)."""
    K = t.idempotency_keys
    query = select(K.c.key, K.c.created_at, K.c.response).where(K.c.scope == program_id)
    if key_prefix:
        query = query.where(K.c.key.startswith(key_prefix, autoescape=True))
    for text in contains:
        query = query.where(K.c.response.contains(text, autoescape=True))
    found = []
    for key, created_at, response in conn.execute(query):
        parsed = orjson.loads(response)
        if isinstance(parsed, dict):
            found.append((str(key), created_at, parsed))
    return found
