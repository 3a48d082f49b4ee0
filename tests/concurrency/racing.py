"""Racing a write with its duplicates: the original held at its commit, its rows written
and its locks held, while the duplicates arrive and read what they read before they wait;
then it commits and they go on. On PostgreSQL they wait on its row locks (or its unique
keys, or its key's lock); on SQLite for the write lock, before reading anything."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, event

from dangol.service.container import Services

DUPLICATES = 4


class OriginalInFlight:
    """Holds the first write transaction to commit just before its commit, until `released` is set."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.released = threading.Event()
        self._armed = True
        self._lock = threading.Lock()

    def on_commit(self, conn: Connection) -> None:
        if conn.get_execution_options().get("dangol_begin") != "IMMEDIATE":
            return  # a read transaction
        with self._lock:
            first, self._armed = self._armed, False
        if first:
            self.reached.set()
            self.released.wait(30)


@contextmanager
def original_in_flight(services: Services) -> Iterator[OriginalInFlight]:
    gate = OriginalInFlight()
    event.listen(services.db.engine, "commit", gate.on_commit)
    try:
        yield gate
    finally:
        gate.released.set()
        event.remove(services.db.engine, "commit", gate.on_commit)


def race(services: Services, call: Callable[[], Any]) -> list[Any]:
    """The original's answer, then its duplicates', each an answer or what it raised."""
    results: list[Any] = [None] * (1 + DUPLICATES)

    def run(index: int) -> None:
        try:
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - the test asserts on it
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(1 + DUPLICATES)]
    with original_in_flight(services) as gate:
        threads[0].start()
        assert gate.reached.wait(30), "the original never reached its commit"
        for thread in threads[1:]:
            thread.start()
        time.sleep(0.5)  # each duplicate has read what it reads before waiting for the original
        gate.released.set()
        for thread in threads:
            thread.join(60)
    return results


def paused(services: Services, call: Callable[[], Any], before: Callable[[str], bool],
           meanwhile: Callable[[], Any]) -> tuple[Any, Any]:
    """Runs `call` on a thread of its own until it is about to send the first statement
    `before` accepts (its SQL, whitespace collapsed), then `meanwhile()` here, then lets
    `call` go on. For PostgreSQL, where `meanwhile` can commit while `call`'s transaction is
    open (on SQLite it would wait for `call`'s write lock). Returns (meanwhile's, call's)
    answer, each an answer or what it raised."""
    reached, done = threading.Event(), threading.Event()
    answers: list[Any] = [None, None]

    def pause(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
              executemany: bool) -> None:
        if threading.current_thread() is worker and not reached.is_set() and before(" ".join(statement.split())):
            reached.set()
            done.wait(30)

    def run(index: int, what: Callable[[], Any]) -> None:
        try:
            answers[index] = what()
        except Exception as error:  # noqa: BLE001 - the test asserts on it
            answers[index] = error

    worker = threading.Thread(target=run, args=(1, call))
    event.listen(services.db.engine, "before_cursor_execute", pause)
    try:
        worker.start()
        assert reached.wait(30), "the paused call never reached its statement"
        run(0, meanwhile)
        done.set()
        worker.join(60)
    finally:
        done.set()
        event.remove(services.db.engine, "before_cursor_execute", pause)
    return answers[0], answers[1]
