"""Ids for ledger rows, handed out in blocks so a batch of operations needs one query per kind."""

from __future__ import annotations

from sqlalchemy import Connection, text

from . import tables

_TABLES = {"transaction": tables.transactions, "lot": tables.lots, "hold": tables.holds}
_SEQUENCES = {"transaction": "transaction_id_seq", "lot": "lot_id_seq", "hold": "hold_id_seq"}


class BlockIdAllocator:
    """Implements the domain's `IdSource` inside one write transaction.

    On SQLite the write lock is held from BEGIN IMMEDIATE, so MAX(id)+1 onwards is ours.
    On PostgreSQL the ids come from sequences (`nextval` in blocks); gaps are harmless."""

    def __init__(self, conn: Connection, block: int = 64) -> None:
        self.conn = conn
        self.block = block
        self.sqlite = conn.dialect.name == "sqlite"
        self._free: dict[str, list[int]] = {kind: [] for kind in _TABLES}
        self._next_sqlite: dict[str, int] = {}

    def reserve(self, kind: str, count: int) -> None:
        """Fetch ids ahead when the caller knows roughly how many it needs."""
        if not self.sqlite and count > len(self._free[kind]):
            self._fetch(kind, count - len(self._free[kind]))

    def next_id(self, kind: str) -> int:
        if self.sqlite:
            if kind not in self._next_sqlite:
                # Driver-level: this runs in every write transaction (twice for an HTTP earn).
                table = _TABLES[kind].name
                self._next_sqlite[kind] = (self.conn.exec_driver_sql(f"SELECT MAX(id) FROM {table}").scalar() or 0) + 1
            value = self._next_sqlite[kind]
            self._next_sqlite[kind] = value + 1
            return value
        free = self._free[kind]
        if not free:
            self._fetch(kind, self.block)
        return free.pop()

    def _fetch(self, kind: str, count: int) -> None:
        rows = self.conn.execute(
            text(f"SELECT nextval('{_SEQUENCES[kind]}') FROM generate_series(1, :n)"), {"n": count}
        ).scalars().all()
        # pop() takes from the end: keep the smallest id there so ids grow within a batch.
        self._free[kind].extend(sorted(rows, reverse=True))
        self._free[kind].sort(reverse=True)
