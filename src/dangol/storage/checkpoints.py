"""Checkpoints of SQLite's write-ahead log, off the request path.

By default SQLite checkpoints inside a commit: the transaction that grows the WAL past
`wal_autocheckpoint` pages also copies the WAL back into the database file and fsyncs it,
tens of milliseconds during which every request queued behind it waits. A server instead
runs passive checkpoints from this thread. A passive checkpoint takes no lock that a writer
or a reader needs, so commits go on while it copies; the sqlite3 module releases the GIL
while it runs. The connections of such a process keep a far larger automatic threshold as a
safety net (`Database.checkpoint_in_background`), which only a stalled checkpointer reaches."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from .background import BackgroundThread

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 0.25


class WalCheckpointer(BackgroundThread):
    """Stopped, it runs a last checkpoint, so that a clean shutdown leaves the database
    file up to date."""

    name = "dangol-wal-checkpointer"

    def __init__(self, engine: Engine, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        super().__init__()
        self.engine = engine
        self.interval = interval

    def _run(self) -> None:
        connection: Any = self.engine.raw_connection()
        try:
            while not self._stop.wait(self.interval):
                self._checkpoint(connection)
            self._checkpoint(connection)
        finally:
            connection.close()

    @staticmethod
    def _checkpoint(connection: Any) -> None:
        try:
            cursor = connection.cursor()
            try:
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                cursor.fetchall()
            finally:
                cursor.close()
        except Exception:  # the thread must outlive a bad moment (a full disk, say); the safety net holds
            log.exception("background WAL checkpoint failed")
