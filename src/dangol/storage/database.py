"""Engines and transactions for SQLite (embedded default) and PostgreSQL (production).

`Database.write()` is a transaction that holds the write lock it needs from its start:
`BEGIN IMMEDIATE` on SQLite (one writer at a time, readers unaffected in WAL mode),
row locks taken by the repository on PostgreSQL. `Database.read()` never blocks writers.

On SQLite, the writers of one process first queue for that lock in arrival order
(`WriterQueue`): SQLite's busy handler makes a waiting writer sleep and retry in steps growing
to 100 ms, so under concurrent requests a writer could go on sleeping long after the lock came
free. Writers in other processes (the CLI, another server worker) still meet the busy timeout,
which stays."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from .checkpoints import WalCheckpointer

DEFAULT_URL = "sqlite:///dangol.db"
BUSY_TIMEOUT_SECONDS = 30
RACE_RETRIES = 3
# PostgreSQL connections one process opens at most: KEPT_CONNECTIONS stay open between uses,
# the rest are opened when more threads need one at once and closed when given back. A
# thread that finds them all taken waits for one (up to 30 s: then the API answers 503).
DEFAULT_POOL = 30
KEPT_CONNECTIONS = 10

T = TypeVar("T")


class LostRace(Exception):
    """A write transaction found that a concurrent one, committed since it looked, wrote what
    it was about to write (PostgreSQL: a member it was enrolling). It wrote nothing; like a
    unique key lost, `Database.retrying_races` runs it again, to answer from the winner's rows."""


class WriterQueue:
    """A lock handed to its waiters in the order they asked for it. (A plain `threading.Lock`
    lets the releasing thread or a late arrival barge in, which stretches the tail.) Not
    reentrant: a thread asking twice gets an error at once instead of waiting on itself."""

    def __init__(self, timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self._mutex = threading.Lock()
        self._waiters: deque[tuple[threading.Lock, int]] = deque()
        self._owner: int | None = None

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._owner is None:
                self._owner = me
                return
            if self._owner == me:
                raise RuntimeError("Database.write() inside Database.write() in the same thread")
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append((turn, me))
        if turn.acquire(timeout=self.timeout):
            return  # a release handed it to us
        with self._mutex:
            try:
                self._waiters.remove((turn, me))
            except ValueError:  # handed to us between the timeout and now: pass it on
                self._hand_over()
        # What SQLite raises when its own busy timeout runs out (the API answers 503).
        raise sqlite3.OperationalError(f"database is locked: waited {self.timeout:g} s behind this process's writers")

    def release(self) -> None:
        with self._mutex:
            self._hand_over()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()

    def _hand_over(self) -> None:
        if self._waiters:
            turn, self._owner = self._waiters.popleft()
            turn.release()
        else:
            self._owner = None

# Every SQLite connection's settings, in order. Why each:
# - WAL: readers never block the writer, nor it them.
# - synchronous=NORMAL: in WAL mode a commit survives a process crash; only a power
#   loss can take back the last commits, never corrupt the file.
# - cache_size 64 MiB (negative: KiB): ledger writes touch random pages of the members
#   table and of the member indexes; with SQLite's 2 MiB default they are read back
#   from the OS on every batch. The cache grows only as pages are used.
# - wal_autocheckpoint 10,000 pages (about 40 MiB of WAL): with the default 1,000, a
#   batch of a thousand events fills the WAL and nearly every commit also checkpoints,
#   writing and fsyncing the database file (measured: checkpoints about doubled the cost
#   of a raw insert of the ledger's rows). The WAL is still folded back regularly.
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    f"busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}",
    "foreign_keys=ON",
    "cache_size=-65536",
    "wal_autocheckpoint=10000",
)
# With checkpoints in a background thread (a server), commits would checkpoint only past
# this many WAL pages (about 400 MiB): the safety net for a checkpointer that has stalled.
BACKGROUND_AUTOCHECKPOINT = "wal_autocheckpoint=100000"


class Database:
    def __init__(self, url: str = DEFAULT_URL, *, echo: bool = False, pool: int = DEFAULT_POOL) -> None:
        self.url = make_url(url)
        if self.url.get_backend_name() == "postgresql" and self.url.drivername == "postgresql":
            self.url = self.url.set(drivername="postgresql+psycopg")
        self.sqlite_pragmas: tuple[str, ...] = SQLITE_PRAGMAS  # read by every new connection
        self.pool = pool  # PostgreSQL: connections this process opens at most
        self.engine = _create(self.url, echo, lambda: self.sqlite_pragmas, pool)
        # One SQLite writer at a time anyway: queue this process's writers (see the module docstring).
        self._writers: AbstractContextManager[None] = WriterQueue() if self.is_sqlite else nullcontext()
        self._checkpointer: WalCheckpointer | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def unique_violations(self) -> tuple[type[Exception], ...]:
        """What a write that lost a race for a unique key raises: SQLAlchemy's error, and
        the driver's own from the bulk writes that go to it directly (COPY)."""
        return (IntegrityError, self.engine.dialect.loaded_dbapi.IntegrityError)

    def retrying_races(self, attempt: Callable[[], T]) -> T:
        """`attempt()`, a write transaction, run again when it lost a race for a unique key
        (PostgreSQL: a concurrent transaction committed the same idempotency key, event id or
        enrolment after this one looked), or said so itself (`LostRace`): the next run sees
        the winner's row and answers from it (its stored response, or a conflict) instead of
        with a database error. Past `RACE_RETRIES` races the error is raised (the API's 409
        with Retry-After)."""
        races = 0
        lost: tuple[type[Exception], ...] = (LostRace, *self.unique_violations)
        while True:
            try:
                return attempt()
            except lost:
                races += 1
                if races > RACE_RETRIES:
                    raise

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self._writers, self.engine.connect() as conn:
            conn = conn.execution_options(dangol_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    @contextmanager
    def held(self, name: str) -> Iterator[None]:
        """A lock on `name` for the length of the block, across the transactions in it, for
        work that commits in several (an expiry run) yet must not run twice at once. On
        PostgreSQL a session advisory lock, on a connection of its own, that every process
        waits for. On SQLite none: a server's writes already run one at a time, whole, on its
        writer thread (api/lanes.py)."""
        if self.is_sqlite:
            yield
            return
        lock = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(%s)", (lock,))
            conn.commit()  # the lock is the session's; no transaction need stay open meanwhile
            try:
                yield
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (lock,))
                conn.commit()

    def checkpoint_in_background(self) -> bool:
        """For a long-running server on a SQLite file: WAL checkpoints move from the commits
        of requests to a background thread (see checkpoints.py). Returns whether it did."""
        if not self.is_sqlite or self.url.database in (None, "", ":memory:") or self._checkpointer:
            return False
        self.sqlite_pragmas = tuple(BACKGROUND_AUTOCHECKPOINT if p.startswith("wal_autocheckpoint=") else p
                                    for p in SQLITE_PRAGMAS)
        self.engine.dispose()  # pooled connections were opened with the commit-time threshold
        self._checkpointer = WalCheckpointer(self.engine)
        self._checkpointer.start()
        return True

    def stop_background_checkpoints(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
            self.sqlite_pragmas = SQLITE_PRAGMAS
            self.engine.dispose()

    def fold_wal(self) -> bool:
        """SQLite: copies the write-ahead log into the database file and empties the log
        (after an erasure, so the old versions of the pages it rewrote leave the disk). False
        if readers still needed part of it (their next checkpoint folds the rest), or if
        this is not a SQLite file."""
        if not self.is_sqlite or self.url.database in (None, "", ":memory:"):
            return False
        connection: Any = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                cursor.close()
        finally:
            connection.close()
        return not busy

    def dispose(self) -> None:
        self.stop_background_checkpoints()
        self.engine.dispose()


def _create(url, echo: bool, sqlite_pragmas: Callable[[], Sequence[str]],  # type: ignore[no-untyped-def]
            pool: int) -> Engine:
    if url.get_backend_name() != "sqlite":
        if pool < 1:
            raise ValueError("a pool of connections holds at least one")
        kept = min(pool, KEPT_CONNECTIONS)
        return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=kept, max_overflow=pool - kept)
    database = url.database or ""
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, poolclass=NullPool if database in ("", ":memory:") else None,
                           connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in sqlite_pragmas():
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("dangol_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
