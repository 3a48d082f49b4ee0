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
import threading
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 0.25


class WalCheckpointer:
    def __init__(self, engine: Engine, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="dangol-wal-checkpointer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops the thread after a last checkpoint, so that a clean shutdown leaves the
        database file up to date."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None

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
