"""The issue's crash test: `dangol import` killed with SIGKILL in the middle leaves only
whole batches, and importing the file again completes it exactly once: the ledger then
equals that of a clean import of the same file, and `dangol check` passes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dangol.demo import ensure_program
from dangol.demo.generator import generate_events
from dangol.demo.loader import write_events
from dangol.service.container import Services
from dangol.storage import tables as t
from dangol.storage.database import Database

from .helpers import balances_by_ref

PROGRAM = "market"


def dangol(url: str, *args: str, **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "dangol.cli", "--database-url", url, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)  # type: ignore[call-overload]


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout + stderr


def transactions(db: Database) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(t.transactions)).scalar_one()


@pytest.fixture
def reference_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Another empty database on the same backend, for the clean import."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'reference.db'}"
        return
    from conftest import drop_postgres, fresh_postgres_url

    url, name = fresh_postgres_url(request.getfixturevalue("postgres_template"))
    yield url
    drop_postgres(name)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_an_import_killed_midway_completes_exactly_once(database_url: str, reference_url: str,
                                                        tmp_path: Path) -> None:
    events = tmp_path / "history.jsonl"
    write_events(generate_events(400, seed=7, now=datetime.now(timezone.utc) - timedelta(minutes=1), ledger_only=True),
                 events)
    databases = {}
    for url in (database_url, reference_url):
        services = Services.open(url)
        ensure_program(services)
        databases[url] = services.db

    code, output = finish(dangol(reference_url, "import", str(events), "--batch-size", "50"))
    assert code == 0, output
    expected = transactions(databases[reference_url])

    crashing = dangol(database_url, "import", str(events), "--batch-size", "50")
    deadline = time.monotonic() + 120
    while transactions(databases[database_url]) < expected // 3 and crashing.poll() is None:
        assert time.monotonic() < deadline, "the import made no progress"
        time.sleep(0.01)
    os.kill(crashing.pid, signal.SIGKILL)
    crashing.communicate(timeout=60)
    assert crashing.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    left_behind = transactions(databases[database_url])
    assert 0 < left_behind < expected
    code, output = finish(dangol(database_url, "check"))
    assert code == 0, f"the killed import left a partial batch behind: {output}"

    code, output = finish(dangol(database_url, "import", str(events), "--batch-size", "50"))
    assert code == 0, output
    assert " 0 already imported" not in output  # it did resume: the killed run's batches were kept

    assert transactions(databases[database_url]) == expected
    assert balances_by_ref(databases[database_url], PROGRAM) == balances_by_ref(databases[reference_url], PROGRAM)
    code, output = finish(dangol(database_url, "check"))
    assert code == 0 and output.startswith("OK"), output
    for db in databases.values():
        db.dispose()
