"""The write side of the transparency log: every ledger transaction's entry, written in
the same database transaction as the ledger rows, with a sequence number. Nothing here
waits for the tree: the integrator (service/log.py) gives entries their leaf indices
later, in batches, so the write path never serialises on the log.

Members get their log key here too, at enrolment (and, for members enrolled before the
log existed, the first time they appear in an entry)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..domain import Member, MemberLedger
from ..storage.ids import BlockIdAllocator
from ..storage.log_repository import LogRepository
from ..transparency.entry import (MEMBER_KEY_SIZE, VERSION, RulesetEntry, encode, encode_transaction,
                                  member_commitment)
from ..transparency.proofs import leaf_hash

Receipt = dict[str, Any]


def log_receipt(sequence: int, digest: bytes) -> dict[str, Any]:
    return {"sequence": sequence, "leaf_hash": base64.b64encode(digest).decode()}


class TransactionTracker:
    """Wraps the batch's id allocator to note which transaction ids each operation took,
    so that each transaction's entry names its operation's idempotency key and each
    receipt lists its own transactions' log receipts."""

    def __init__(self, ids: BlockIdAllocator) -> None:
        self.ids = ids
        self.current: list[int] = []

    def start(self) -> list[int]:
        self.current = []
        return self.current

    def next_id(self, kind: str) -> int:
        value = self.ids.next_id(kind)
        if kind == "transaction":
            self.current.append(value)
        return value

    def reserve(self, kind: str, count: int) -> None:
        self.ids.reserve(kind, count)


def transaction_entry_bytes(  # the operator's check rebuilds entries from stored rows with it
    program_id: str, txn_id: int, kind: str, occurred_at: datetime,
    postings: Iterable[tuple[str, int, str | None, str | None]],
    lots: Iterable[tuple[int, int, datetime, datetime]],
    movements: Iterable[tuple[int, str, int]], order_ref: str | None, money: tuple[int, str] | None,
    rule: str | None, ruleset: str | None, idempotency_key: str | None, hold: int | None,
    commitments: dict[str, str], version: int = VERSION,
) -> bytes:
    """The entry bytes of one transaction from its plain values (postings as (account,
    amount, member, rule)), members replaced by their commitments: what LogWriter.append
    writes for it (both end in entry.encode_transaction), in the entry format `version`
    (the one a stored entry was written in, when the operator's check rebuilds it)."""
    return encode_transaction(
        program_id, txn_id, kind, occurred_at,
        [(account, amount, None if member is None else commitments[member], posting_rule)
         for account, amount, member, posting_rule in postings],
        lots, movements, order_ref, money, rule, ruleset, idempotency_key, hold, version)


def new_member_keys(members: Sequence[Member]) -> list[tuple[str, str, bytes, str]]:
    rows = []
    for member in members:
        key = secrets.token_bytes(MEMBER_KEY_SIZE)
        rows.append((member.id, member.program_id, key, member_commitment(key, member.program_id, member.id)))
    return rows


class LogWriter:
    """Appends entries inside the caller's write transaction."""

    def enrol(self, conn: Connection, members: Sequence[Member]) -> None:
        LogRepository(conn).add_member_keys(new_member_keys(members))

    def append(self, conn: Connection, ledgers: Iterable[MemberLedger],
               keys: dict[int, str] | None = None) -> dict[int, tuple[int, bytes]]:
        """Writes the entries of every transaction the ledgers recorded; `keys` maps a
        transaction id to its operation's idempotency key. Returns transaction id ->
        (sequence, leaf hash)."""
        keys = keys or {}
        ledgers = list(ledgers)
        txns = sorted(((ledger.program.id, txn) for ledger in ledgers for txn in ledger.recorded.transactions),
                      key=lambda pair: pair[1].id)
        if not txns:
            return {}
        lots: dict[int, list[tuple[int, int, datetime, datetime]]] = {}
        movements: dict[int, list[tuple[int, str, int]]] = {}
        for ledger in ledgers:
            rec = ledger.recorded
            for lot_id, txn_id in rec.new_lot_ids.items():
                lot = ledger.lots[lot_id]
                lots.setdefault(txn_id, []).append((lot.id, lot.amount, lot.available_at, lot.expires_at))
            for m in rec.movements:
                movements.setdefault(m.transaction_id, []).append((m.lot_id, m.kind, m.amount))
        repo = LogRepository(conn)
        commitments = self._commitments(repo, ledgers, {p.member_id for _, txn in txns for p in txn.postings
                                                        if p.member_id is not None})
        sequences = repo.next_sequences(len(txns))
        rows = []
        written: dict[int, tuple[int, bytes]] = {}
        no_lots: tuple[()] = ()
        for sequence, (program_id, txn) in zip(sequences, txns):
            money = txn.money
            txn_id = txn.id
            # Enum members are str subclasses: the JSON encoder takes them as they are.
            entry = encode_transaction(
                program_id, txn_id, txn.kind, txn.occurred_at,
                [(p.account, p.amount, None if p.member_id is None else commitments[p.member_id], p.rule_id)
                 for p in txn.postings],
                lots.get(txn_id, no_lots), movements.get(txn_id, no_lots), txn.order_ref,
                None if money is None else (money.amount, money.currency), txn.rule_id, txn.ruleset_hash,
                keys.get(txn_id), txn.hold_id)
            digest = leaf_hash(entry)
            rows.append((sequence, program_id, txn.id, entry, digest))
            written[txn.id] = (sequence, digest)
        repo.add_entries(rows)
        return written

    def append_ruleset(self, conn: Connection, entry: RulesetEntry) -> tuple[int, bytes]:
        """Writes a published ruleset's entry (call it in the transaction that publishes
        the ruleset); returns (sequence, leaf hash)."""
        repo = LogRepository(conn)
        data = encode(entry)
        digest = leaf_hash(data)
        [sequence] = repo.next_sequences(1)
        repo.add_entries([(sequence, entry.program, None, data, digest)])
        return sequence, digest

    @staticmethod
    def _commitments(repo: LogRepository, ledgers: list[MemberLedger], member_ids: set[str]) -> dict[str, str]:
        found = repo.commitments(sorted(member_ids))
        unknown = member_ids - found.keys()
        missing = [ledger.member for ledger in ledgers if ledger.member.id in unknown] if unknown else []
        if missing:  # members enrolled before the log existed get their key now
            rows = new_member_keys(missing)
            repo.add_member_keys(rows)
            found.update({member_id: commitment for member_id, _, _, commitment in rows})
        return found


def add_log_receipts(outcomes: Sequence[Any], taken: Sequence[list[int]],
                     written: dict[int, tuple[int, bytes]]) -> None:
    """Adds `"log": [...]` to each fresh receipt: one item per transaction its operation
    wrote. `taken[i]` is the transaction ids operation i took (None for a replayed or
    rejected operation, whose receipt is left as it was)."""
    for outcome, txn_ids in zip(outcomes, taken):
        if txn_ids is None or not isinstance(outcome, dict):
            continue
        outcome.setdefault("log", []).extend(log_receipt(*written[i]) for i in txn_ids if i in written)
