"""Fixtures of the backup tests: a source database with a history and a signed log, an empty
target on the same engine, and `dangol` run as a user would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner, Result

from conftest import drop_postgres, fresh_postgres_url
from dangol.cli.main import app
from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.storage.database import Database
from logserver.support import every_kind


def dangol(url: str, *args: str, key: Path | None = None) -> Result:
    """`dangol --database-url URL ARGS…` in-process; `key`: the log key file it uses (DANGOL_LOG_KEY)."""
    env = {"DANGOL_LOG_KEY": str(key)} if key else None
    return CliRunner().invoke(app, ["--database-url", url, *args], env=env)


def ok(result: Result) -> str:
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    return result.stdout


def refused(result: Result) -> str:
    """The one `error: …` line of a command that did nothing (exit code 2)."""
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def rows(url: str) -> dict[str, list[Any]]:
    """Every row of every table: two databases holding the same are the same database."""
    db = Database(url)
    try:
        with db.read() as conn:
            return {name: sorted((tuple(row) for row in conn.execute(text(f'SELECT * FROM "{name}"'))), key=repr)
                    for name in sorted(inspect(conn).get_table_names())}
    finally:
        db.dispose()


@pytest.fixture
def source_key(tmp_path: Path) -> Path:
    """The source's log key file (the tests' DANGOL_LOG_KEY, see tests/conftest.py)."""
    return tmp_path / "dangol-log.key"


@pytest.fixture
def history(services: Services, clock: FixedClock, source_key: Path) -> dict[str, Any]:
    """Every kind of ledger transaction, integrated and signed (which makes the log's key)."""
    made = every_kind(services, clock)
    services.log.integrate()
    services.log.sign()
    assert source_key.exists()
    return made


@pytest.fixture
def target_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables) on the source's engine."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'dangol.db'}"
        return
    url, name = fresh_postgres_url("template0")
    yield url
    drop_postgres(name)


@pytest.fixture
def target_key(tmp_path: Path) -> Path:
    """Where the restored database's log key goes (another DANGOL_LOG_KEY than the source's)."""
    return tmp_path / "restored-keys" / "dangol-log.key"
