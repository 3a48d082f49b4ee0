"""On SQLite, one process's writers queue for the write lock in arrival order instead of
sleeping in SQLite's busy handler."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, text

from dangol.storage.database import Database, WriterQueue

pytestmark = pytest.mark.timeout(60)


def _wait_for(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_waiters_get_the_lock_in_the_order_they_asked() -> None:
    queue = WriterQueue()
    order: list[int] = []
    queue.acquire()

    def writer(n: int) -> None:
        with queue:
            order.append(n)

    threads = []
    for n in range(8):
        thread = threading.Thread(target=writer, args=(n,))
        thread.start()
        threads.append(thread)
        _wait_for(lambda: len(queue._waiters) == n + 1)  # noqa: SLF001 - queued before the next one asks
    queue.release()
    for thread in threads:
        thread.join()
    assert order == list(range(8))


def test_a_writer_waiting_too_long_gets_sqlites_locked_error_and_leaves_the_queue() -> None:
    queue = WriterQueue(timeout=0.05)
    queue.acquire()
    failure: list[BaseException] = []

    def impatient() -> None:
        try:
            queue.acquire()
        except sqlite3.OperationalError as error:
            failure.append(error)

    thread = threading.Thread(target=impatient)
    thread.start()
    thread.join()
    assert failure and "database is locked" in str(failure[0])
    queue.release()
    queue.acquire()  # free again: the impatient writer holds nothing
    queue.release()


def test_a_nested_write_in_one_thread_fails_at_once() -> None:
    queue = WriterQueue()
    with queue:
        with pytest.raises(RuntimeError):
            queue.acquire()


def test_concurrent_writes_all_succeed_without_the_busy_handler(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'queue.db'}")

    @event.listens_for(db.engine, "connect")
    def _no_busy_wait(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Runs after Database's own setup: a writer that met the lock held would fail at once.
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    with db.write() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    start = threading.Barrier(16)
    errors: list[BaseException] = []

    def writer() -> None:
        start.wait()
        try:
            for _ in range(25):
                with db.write() as conn:
                    n = conn.execute(text("SELECT n FROM counter")).scalar_one()
                    conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=writer) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 16 * 25
    db.dispose()


def test_postgresql_writers_are_not_queued_in_process() -> None:
    db = Database("postgresql://nobody@127.0.0.1:1/none")  # never connected
    assert not isinstance(db._writers, WriterQueue)  # noqa: SLF001 - row locks do the queueing there
