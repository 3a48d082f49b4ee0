"""The one read the public report needs: a program's integrated entries in a range of
leaf indexes, in index order, a page at a time."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Connection

from .bulk import fetch_rows, mark


def program_entries(conn: Connection, program_id: str, start: int, stop: int, batch: int = 10_000) -> Iterator[bytes]:
    """Entry bytes of `program_id` with leaf index in [start, stop)."""
    m = mark(conn)
    while start < stop:
        rows = fetch_rows(conn, f"SELECT leaf_index, entry FROM log_entries WHERE program_id = {m} "
                                f"AND leaf_index >= {m} AND leaf_index < {m} ORDER BY leaf_index LIMIT {int(batch)}",
                          (program_id, start, stop))
        if not rows:
            return
        for _, entry in rows:
            yield bytes(entry)
        start = int(rows[-1][0]) + 1
