"""The transparency log's rows: entries, tree nodes (a NodeStore for transparency/merkle.py),
the log's state row, checkpoints, cosignatures, witnesses and members' log keys. One
instance lives inside one `Database.write()` or `Database.read()` transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, text, update

from . import tables as t
from .bulk import fetch_rows, insert_rows, mark, one_of, update_rows
from .ledger_repository import chunked


STATE_ID = 1
ENTRY_COLUMNS = ("sequence", "program_id", "transaction_id", "entry", "leaf_hash")


@dataclass(frozen=True, slots=True)
class LogState:
    tree_size: int
    quorum: int


@dataclass(frozen=True, slots=True)
class StoredEntry:
    sequence: int
    leaf_index: int | None
    program_id: str
    transaction_id: int | None
    entry: bytes
    leaf_hash: bytes


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    root_hash: bytes
    note: str  # signed by the log only
    signed_at: datetime


class DbNodeStore:
    """The tree's nodes as rows (level, idx, hash), one per complete subtree. Implements
    transparency.merkle.NodeStore: a proof is one query (`get_many`), an append one
    multi-row insert per level."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, level: int, index: int) -> bytes:
        return self.get_many([(level, index)])[0]

    def get_many(self, addresses: Sequence[tuple[int, int]]) -> list[bytes]:
        if not addresses:
            return []
        found: dict[tuple[int, int], bytes] = {}
        wanted = sorted(set(addresses))
        m = mark(self.conn)
        for chunk in chunked(wanted, 200):
            condition = " OR ".join([f"(level = {m} AND idx = {m})"] * len(chunk))
            params = tuple(value for address in chunk for value in address)
            for level, idx, digest in fetch_rows(self.conn, f"SELECT level, idx, hash FROM log_nodes "
                                                            f"WHERE {condition}", params):
                found[(level, idx)] = bytes(digest)
        missing = [a for a in wanted if a not in found]
        if missing:
            raise KeyError(missing[0])
        return [found[a] for a in addresses]

    def put(self, level: int, start: int, run: bytes) -> None:
        insert_rows(self.conn, t.log_nodes, ("level", "idx", "hash"),
                    [(level, start + i, run[offset:offset + 32]) for i, offset in enumerate(range(0, len(run), 32))])

    def prefetch(self, addresses: Sequence[tuple[int, int]], gap: int = 64) -> dict[tuple[int, int], bytes]:
        """Many nodes at once (thousands of proofs): per level, runs of nearby indices as
        one range query each, rather than one OR term per node."""
        levels: dict[int, list[int]] = {}
        for level, index in set(addresses):
            levels.setdefault(level, []).append(index)
        found: dict[tuple[int, int], bytes] = {}
        m = mark(self.conn)
        for level, indices in levels.items():
            indices.sort()
            runs: list[list[int]] = [[indices[0], indices[0]]]
            for index in indices[1:]:
                if index - runs[-1][1] <= gap:
                    runs[-1][1] = index
                else:
                    runs.append([index, index])
            for start, end in runs:
                for idx, digest in fetch_rows(self.conn, f"SELECT idx, hash FROM log_nodes WHERE level = {m} "
                                                         f"AND idx >= {m} AND idx <= {m}", (level, start, end)):
                    found[(level, int(idx))] = bytes(digest)
        return found


class LogRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"

    # ------------------------------------------------------------ state

    def state(self, *, lock: bool = False) -> LogState:
        """The log's state; `lock` takes it for this transaction (PostgreSQL row lock; on
        SQLite the write transaction already holds the database's write lock), so that
        one integrator or signer at a time extends or signs."""
        sql = f"SELECT tree_size, quorum FROM log_state WHERE id = {STATE_ID}"
        if lock and self.postgres:
            sql += " FOR UPDATE"
        size, quorum = self.conn.exec_driver_sql(sql).one()
        return LogState(int(size), int(quorum))

    def set_tree_size(self, size: int) -> None:
        self.conn.execute(update(t.log_state).where(t.log_state.c.id == STATE_ID).values(tree_size=size))

    def set_quorum(self, quorum: int) -> None:
        self.conn.execute(update(t.log_state).where(t.log_state.c.id == STATE_ID).values(quorum=quorum))

    # ------------------------------------------------------------ entries

    def next_sequences(self, count: int) -> list[int]:
        """`count` new sequence numbers, increasing. SQLite: the write lock is held, so
        MAX+1 onwards is ours and sequence order is commit order. PostgreSQL: a sequence,
        which never blocks a concurrent writer (gaps and a little reordering between
        concurrent commits are harmless: leaf indices are given at integration)."""
        if count <= 0:
            return []
        if self.postgres:
            rows = self.conn.exec_driver_sql(
                "SELECT nextval('log_sequence_seq') FROM generate_series(1, %s)", (count,)).scalars().all()
            return sorted(int(r) for r in rows)
        start = (self.conn.exec_driver_sql("SELECT MAX(sequence) FROM log_entries").scalar() or 0) + 1
        return list(range(start, start + count))

    def add_entries(self, rows: Sequence[tuple[int, str, int | None, bytes, bytes]]) -> None:
        """Rows of (sequence, program id, transaction id, entry bytes, leaf hash)."""
        insert_rows(self.conn, t.log_entries, ENTRY_COLUMNS, rows)

    def pending(self, limit: int) -> list[tuple[int, bytes]]:
        """(sequence, leaf hash) of entries not integrated yet, in sequence order."""
        rows = fetch_rows(self.conn, f"SELECT sequence, leaf_hash FROM log_entries WHERE leaf_index IS NULL "
                                     f"ORDER BY sequence LIMIT {int(limit)}", ())
        return [(int(s), bytes(h)) for s, h in rows]

    def pending_count(self) -> int:
        return int(self.conn.exec_driver_sql("SELECT COUNT(*) FROM log_entries WHERE leaf_index IS NULL").scalar()
                   or 0)

    def assign_indices(self, rows: Sequence[tuple[int, int]]) -> None:
        """Rows of (leaf index, sequence)."""
        update_rows(self.conn, t.log_entries, ("leaf_index",), "sequence", rows)

    def entries(self, start: int, limit: int) -> list[StoredEntry]:
        """Integrated entries with leaf indices from `start`, in index order."""
        rows = fetch_rows(self.conn, f"SELECT sequence, leaf_index, program_id, transaction_id, entry, leaf_hash "
                                     f"FROM log_entries WHERE leaf_index >= {mark(self.conn)} "
                                     f"ORDER BY leaf_index LIMIT {int(limit)}", (start,))
        return [_entry(row) for row in rows]

    def leaf_indices(self, transaction_ids: Sequence[int]) -> dict[int, int | None]:
        """The leaf index of each transaction's entry (None while not integrated)."""
        if not transaction_ids:
            return {}
        rows = self.conn.execute(select(t.log_entries.c.transaction_id, t.log_entries.c.leaf_index).where(
            t.log_entries.c.transaction_id.in_(list(transaction_ids)))).all()
        return {int(row[0]): None if row[1] is None else int(row[1]) for row in rows}

    def entry_by_sequence(self, sequence: int) -> StoredEntry | None:
        rows = fetch_rows(self.conn, f"SELECT sequence, leaf_index, program_id, transaction_id, entry, leaf_hash "
                                     f"FROM log_entries WHERE sequence = {mark(self.conn)}", (sequence,))
        return _entry(rows[0]) if rows else None

    def all_entries(self, batch: int = 10_000) -> Any:
        """Every entry, integrated or not, in sequence order, read in pages."""
        after = -1
        while True:
            rows = fetch_rows(self.conn, f"SELECT sequence, leaf_index, program_id, transaction_id, entry, "
                                         f"leaf_hash FROM log_entries WHERE sequence > {mark(self.conn)} "
                                         f"ORDER BY sequence LIMIT {int(batch)}", (after,))
            if not rows:
                return
            for row in rows:
                yield _entry(row)
            after = int(rows[-1][0])

    # ------------------------------------------------------------ checkpoints

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        row = self.conn.execute(select(t.log_checkpoints).order_by(t.log_checkpoints.c.size.desc()).limit(1)
                                ).mappings().first()
        return None if row is None else _checkpoint(row)

    def latest_checkpoints(self, limit: int) -> list[StoredCheckpoint]:
        table = t.log_checkpoints
        return [_checkpoint(row) for row in self.conn.execute(
            select(table).order_by(table.c.size.desc()).limit(limit)).mappings()]

    def checkpoint(self, size: int) -> StoredCheckpoint | None:
        row = self.conn.execute(select(t.log_checkpoints).where(t.log_checkpoints.c.size == size)).mappings().first()
        return None if row is None else _checkpoint(row)

    def add_checkpoint(self, size: int, root_hash: bytes, note: str, at: datetime) -> None:
        self.conn.execute(insert(t.log_checkpoints).values(size=size, root_hash=root_hash, note=note, signed_at=at))

    def cosignature_lines(self, size: int) -> list[str]:
        rows = self.conn.execute(select(t.log_cosignatures.c.line).where(t.log_cosignatures.c.size == size)
                                 .order_by(t.log_cosignatures.c.witness))
        return [line for (line,) in rows]

    def cosigned_by(self, size: int) -> set[str]:
        rows = self.conn.execute(select(t.log_cosignatures.c.witness).where(t.log_cosignatures.c.size == size))
        return {vkey for (vkey,) in rows}

    def add_cosignature(self, size: int, witness: str, line: str, timestamp: int, at: datetime) -> None:
        self.conn.execute(insert(t.log_cosignatures).values(size=size, witness=witness, line=line,
                                                            timestamp=timestamp, received_at=at))

    # ------------------------------------------------------------ witnesses

    def witnesses(self) -> list[str]:
        return [v for (v,) in self.conn.execute(select(t.log_witnesses.c.vkey).order_by(t.log_witnesses.c.vkey))]

    def add_witness(self, vkey: str, at: datetime) -> bool:
        """False when the key was registered already."""
        exists = self.conn.execute(select(func.count()).select_from(t.log_witnesses)
                                   .where(t.log_witnesses.c.vkey == vkey)).scalar_one()
        if exists:
            return False
        self.conn.execute(insert(t.log_witnesses).values(vkey=vkey, added_at=at))
        return True

    # ------------------------------------------------------------ member keys

    def add_member_keys(self, rows: Sequence[tuple[str, str, bytes, str]]) -> None:
        """Rows of (member id, program id, key, commitment)."""
        insert_rows(self.conn, t.member_log_keys, ("member_id", "program_id", "key", "commitment"), rows)

    def commitments(self, member_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunked(list(member_ids)):
            condition, params = one_of(self.conn, "member_id", chunk)
            found.update(fetch_rows(self.conn, f"SELECT member_id, commitment FROM member_log_keys "
                                               f"WHERE {condition}", params))
        return found

    def member_key(self, member_id: str) -> tuple[str, bytes | None, str] | None:
        """(program id, key, commitment) of a member; the key is None once their erasure destroyed it."""
        rows = fetch_rows(self.conn, f"SELECT program_id, key, commitment FROM member_log_keys "
                                     f"WHERE member_id = {mark(self.conn)}", (member_id,))
        if not rows:
            return None
        program_id, key, commitment = rows[0]
        return program_id, None if key is None else bytes(key), commitment

    def all_member_keys(self) -> dict[str, tuple[str, bytes | None, str]]:
        rows = self.conn.execute(text("SELECT member_id, program_id, key, commitment FROM member_log_keys"))
        return {member_id: (program_id, None if key is None else bytes(key), commitment)
                for member_id, program_id, key, commitment in rows}


def _entry(row: Sequence[Any]) -> StoredEntry:
    sequence, leaf_index, program_id, transaction_id, entry, digest = row
    return StoredEntry(int(sequence), None if leaf_index is None else int(leaf_index), program_id,
                       None if transaction_id is None else int(transaction_id), bytes(entry), bytes(digest))


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(int(row["size"]), bytes(row["root_hash"]), row["note"], row["signed_at"])




class LedgerForLog:
    """Streams of the ledger's rows and the log's rows in one order each, for the
    operator's check (service/log_check.py): read once, never all in memory at once
    (but for member commitments and idempotency receipts, one small value each)."""

    PAGE = 5_000

    def __init__(self, conn: Connection) -> None:
        self.conn = conn.execution_options(stream_results=True, yield_per=self.PAGE)

    def _grouped(self, sql: str) -> Any:
        """(transaction id, [rows]) in transaction id order; the id is each row's first field."""
        current: int | None = None
        rows: list[Any] = []
        for row in self.conn.exec_driver_sql(sql):
            if row[0] != current:
                if current is not None:
                    yield current, rows
                current, rows = row[0], []
            rows.append(row)
        if current is not None:
            yield current, rows

    def transactions(self) -> Any:
        return self.conn.exec_driver_sql(
            "SELECT id, program_id, kind, occurred_at, order_ref, amount_minor, currency, rule_id, ruleset_hash, "
            "hold_id FROM transactions ORDER BY id")

    def postings(self) -> Any:
        return self._grouped("SELECT transaction_id, account, amount, member_id, rule_id FROM postings "
                             "ORDER BY transaction_id, line")

    def lots(self) -> Any:
        return self._grouped("SELECT transaction_id, id, amount, available_at, expires_at FROM lots "
                             "ORDER BY transaction_id, id")

    def movements(self) -> Any:
        return self._grouped("SELECT transaction_id, lot_id, kind, amount FROM lot_movements "
                             "ORDER BY transaction_id, id")

    def entries_by_transaction(self) -> Any:
        return self._grouped("SELECT transaction_id, sequence, leaf_index, entry, leaf_hash FROM log_entries "
                             "WHERE transaction_id IS NOT NULL ORDER BY transaction_id, sequence")

    def entries_without_transaction(self) -> Any:
        """(sequence, leaf index, entry, leaf hash) of the entries of no transaction (rulesets)."""
        return self.conn.exec_driver_sql("SELECT sequence, leaf_index, entry, leaf_hash FROM log_entries "
                                         "WHERE transaction_id IS NULL ORDER BY sequence")

    def leaves(self) -> Any:
        """(leaf index, sequence, leaf hash) of integrated entries, in index order."""
        return self.conn.exec_driver_sql("SELECT leaf_index, sequence, leaf_hash FROM log_entries "
                                         "WHERE leaf_index IS NOT NULL ORDER BY leaf_index")

    def nodes(self) -> Any:
        return self.conn.exec_driver_sql("SELECT level, idx, hash FROM log_nodes ORDER BY level, idx")

    def entries_at(self, indices: Sequence[int]) -> dict[int, tuple[int, int | None]]:
        """leaf index -> (sequence, transaction id or None) of the entries at these leaves."""
        entries = t.log_entries.c
        found: dict[int, tuple[int, int | None]] = {}
        for chunk in chunked(indices):
            query = select(entries.leaf_index, entries.sequence, entries.transaction_id).where(
                entries.leaf_index.in_(chunk))
            found.update((int(i), (int(s), None if x is None else int(x))) for i, s, x in self.conn.execute(query))
        return found

    def idempotency_receipts(self) -> Any:
        """(scope, key, response text) of every remembered response."""
        return self.conn.exec_driver_sql("SELECT scope, key, response FROM idempotency_keys")

    def checkpoints(self) -> list[tuple[int, bytes, str]]:
        return [(int(size), bytes(root), note) for size, root, note in
                self.conn.exec_driver_sql("SELECT size, root_hash, note FROM log_checkpoints ORDER BY size")]
