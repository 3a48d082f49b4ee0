"""SQLite: copies taken and put back with its online backup API, page by page, while other
processes (a server) go on reading and writing the database."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from ..database import BUSY_TIMEOUT_SECONDS
from .contents import Contents, Query, read_contents
from .manifest import BackupError
from .progress import Progress

COPYING = "copying the database"
RESTORING = "restoring the database"
# 1,024 pages (4 MiB at the default page size) a step: the progress bar moves, and a writer
# waits for no lock (the copy reads from a snapshot, see `snapshot`).
PAGES_PER_STEP = 1024


def snapshot(source: Path, destination: Path, progress: Progress) -> Contents:
    """Copies the database at `source` into the new file `destination`, consistent as of one
    moment, and says what that moment held."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    try:
        with closing(_connect(source)) as connection:
            # One read transaction across every step: each page comes from the same snapshot
            # while writers go on (WAL). Without it each step would see the writes made since
            # the last one, and the backup would start over, again and again, under load.
            connection.execute("BEGIN")
            contents = read_contents(_query(connection), _tables(connection))
            if contents.revision is None:
                raise BackupError(f"the database at {source} is not initialised: there is nothing to back up")
            with closing(sqlite3.connect(destination)) as copy:
                connection.backup(copy, pages=PAGES_PER_STEP,
                                  progress=lambda _, remaining, total: progress(COPYING, total - remaining, total))
            connection.execute("COMMIT")
    except sqlite3.DatabaseError as error:
        raise BackupError(f"cannot read the database at {source}: {error}") from None
    return contents


def contents(path: Path) -> Contents:
    """What the database file at `path` holds."""
    try:
        with closing(_connect(path)) as connection:
            return read_contents(_query(connection), _tables(connection))
    except sqlite3.DatabaseError as error:
        raise BackupError(f"cannot read the database at {path}: {error}") from None


def table_names(target: Path) -> list[str]:
    """The tables of the database at `target`; none when there is no file."""
    if not target.exists() or target.stat().st_size == 0:
        return []
    try:
        with closing(_connect(target)) as connection:
            return _tables(connection)
    except sqlite3.DatabaseError as error:
        raise BackupError(f"cannot read the database at {target}: {error}") from None


def restore(copy: Path, target: Path, progress: Progress) -> Contents:
    """Replaces the database at `target` (made if absent) with `copy`, in one transaction of
    the target: a failure part way leaves it as it was. Returns what it then holds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with closing(sqlite3.connect(copy)) as source, closing(_connect(target)) as destination:
            source.backup(destination, pages=PAGES_PER_STEP,
                          progress=lambda _, remaining, total: progress(RESTORING, total - remaining, total))
            return read_contents(_query(destination), _tables(destination))
    except sqlite3.DatabaseError as error:
        raise BackupError(f"cannot restore into {target}: {error}") from None


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)


def _tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [str(name) for (name,) in rows]


def _query(connection: sqlite3.Connection) -> Query:
    def run(sql: str) -> Sequence[Any] | None:
        row: Sequence[Any] | None = connection.execute(sql).fetchone()
        return row
    return run
