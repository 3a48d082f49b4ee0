"""What a database holds, read inside the snapshot that is copied: its schema revision, the
rows of every table, and how far its log was integrated and signed. The manifest keeps it;
a restore counts again and compares, so a copy that lost rows is never taken for a good one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# One query, one row of answers: the engines' DB-API cursors and SQLAlchemy both fit behind it.
Query = Callable[[str], Sequence[Any] | None]


@dataclass(frozen=True, slots=True)
class Contents:
    revision: str | None  # None: not a dangol database (no alembic_version)
    tables: dict[str, int]
    log_tree_size: int | None
    last_checkpoint: int | None


def read_contents(query: Query, tables: Sequence[str]) -> Contents:
    """`tables`: the database's tables, as its engine lists them."""
    names = sorted(tables)
    revision = None
    if "alembic_version" in names:
        row = query("SELECT version_num FROM alembic_version")
        revision = None if row is None else str(row[0])
    counts = {name: int(_one(query(f'SELECT COUNT(*) FROM "{name}"'))) for name in names}
    tree_size = last = None
    if "log_state" in names:
        row = query("SELECT tree_size FROM log_state")
        tree_size = 0 if row is None else int(row[0])
    if "log_checkpoints" in names:
        found = _one(query("SELECT MAX(size) FROM log_checkpoints"))
        last = None if found is None else int(found)
    return Contents(revision, counts, tree_size, last)


def _one(row: Sequence[Any] | None) -> Any:
    return None if row is None else row[0]
