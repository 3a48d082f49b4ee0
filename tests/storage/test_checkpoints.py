"""A server checkpoints SQLite's WAL from a thread of its own, so that no request's commit
pays for copying the WAL back into the database file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from dangol.storage.database import Database


def _write_rows(db: Database, rows: int) -> None:
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, payload TEXT)")
        conn.exec_driver_sql("INSERT INTO filler (payload) VALUES (?)", [("x" * 500,) for _ in range(rows)])


def _wait_for(condition, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_database_file_catches_up_with_the_wal_without_any_writer_checkpointing(tmp_path: Path) -> None:
    path = tmp_path / "served.db"
    db = Database(f"sqlite:///{path}")
    assert db.checkpoint_in_background()
    with db.read() as conn:
        # Commits would checkpoint only past this: far more than this test writes.
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 100_000
    _write_rows(db, 4_000)  # about 2 MB, some 500 pages of WAL
    assert _wait_for(lambda: path.stat().st_size > 1_000_000), "the background checkpoint never ran"
    db.dispose()
    assert "dangol-wal-checkpointer" not in {thread.name for thread in threading.enumerate()}


def test_without_it_commits_keep_the_usual_threshold(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'cli.db'}")
    _write_rows(db, 10)
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000
    db.dispose()


def test_it_is_only_for_sqlite_files(tmp_path: Path) -> None:
    memory = Database("sqlite://")
    assert not memory.checkpoint_in_background()
    memory.dispose()
