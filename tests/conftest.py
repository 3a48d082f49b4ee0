"""Shared fixtures. Every test that takes `services` runs once on SQLite and once on
PostgreSQL. PostgreSQL runs when DANGOL_TEST_POSTGRES_URL names a server (CI sets it);
without it those cases skip and say why."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import make_url

from dangol.domain import EarnRate, FixedClock, ProgramPolicy
from dangol.service.container import Services
from dangol.storage.database import Database
from dangol.storage.migrate import upgrade

POSTGRES_URL = os.environ.get("DANGOL_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"]
_TEMPLATE = f"dangol_tpl_{os.getpid()}"


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL sent through SQLAlchemy while the block runs (PostgreSQL's COPY goes around
    it: writes are checked on the tables' contents)."""
    seen: list[str] = []

    def grab(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
             executemany: bool) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)


def _admin_engine():  # type: ignore[no-untyped-def]
    url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated database that every PostgreSQL test copies (CREATE DATABASE … TEMPLATE)."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need DANGOL_TEST_POSTGRES_URL (CI sets it)")
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{_TEMPLATE}"'))
        conn.execute(text(f'CREATE DATABASE "{_TEMPLATE}"'))
    db = Database(make_url(POSTGRES_URL).set(database=_TEMPLATE).render_as_string(hide_password=False))
    upgrade(db)
    db.dispose()
    yield _TEMPLATE
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)'))
    engine.dispose()


def fresh_postgres_url(template: str) -> tuple[str, str]:
    name = f"dangol_test_{uuid.uuid4().hex[:12]}"
    with _admin_engine().connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False), name


def drop_postgres(name: str) -> None:
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A new, migrated, empty database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'dangol.db'}"
        db = Database(url)
        upgrade(db)
        db.dispose()
        yield url
        return
    yield request.getfixturevalue("postgres_url")


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    """A new, migrated, empty PostgreSQL database, for what only PostgreSQL does (skipped
    without DANGOL_TEST_POSTGRES_URL)."""
    url, name = fresh_postgres_url(postgres_template)
    yield url
    drop_postgres(name)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc))


@pytest.fixture
def services(database_url: str, clock: FixedClock) -> Iterator[Services]:
    svc = Services.open(database_url, clock, migrate=False)
    yield svc
    svc.db.dispose()


@pytest.fixture
def twin(database_url: str, request: pytest.FixtureRequest, tmp_path, clock: FixedClock) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    """A second empty database on the same engine as `services`: the same inputs sent
    another way (one by one, in batches, concurrently) must leave the same answers."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'twin.db'}"
        db = Database(url)
        upgrade(db)
        db.dispose()
        name = None
    else:
        url, name = fresh_postgres_url(request.getfixturevalue("postgres_template"))
    svc = Services.open(url, clock, migrate=False)
    yield svc
    svc.db.dispose()
    if name is not None:
        drop_postgres(name)


EXAMPLE_POLICY = ProgramPolicy(earn_rate=EarnRate(points=5, per_minor_units=100))


@pytest.fixture
def program_id(services: Services) -> str:
    """The example program's ledger policy: 5% of KRW spend, one-year lots, 1,000-point minimum."""
    services.programs.create_program("market", "Talent market", "KRW", EXAMPLE_POLICY)
    return "market"


@pytest.fixture(autouse=True)
def _log_key_per_test(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The transparency log's signer key file (made on first use) goes to the test's own
    directory, never to the working directory (the default for PostgreSQL)."""
    monkeypatch.setenv("DANGOL_LOG_KEY", str(tmp_path / "dangol-log.key"))
    # Likewise the key file of the key-encryption keys that wrap members' data keys.
    monkeypatch.setenv("DANGOL_DATA_KEY_FILE", str(tmp_path / "dangol-data.key"))
    for name in ("DANGOL_DATA_KEYS", "DANGOL_KEY_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
