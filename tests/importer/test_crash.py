"""Crash tests: `dangol import` killed with SIGKILL in the middle leaves only whole batches
(and the rejects of those batches, in its rejects file and in the database), and importing
the file again completes it exactly once: the ledger then equals that of a clean import of
the same file, and `dangol check` passes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from dangol.demo import ensure_program
from dangol.demo.generator import generate_events
from dangol.demo.loader import write_events
from dangol.service.container import Services
from dangol.storage import tables as t
from dangol.storage.database import Database

from .helpers import FaultyHistory, balances_by_ref, expected_balances, faulty_history

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


def imported(db: Database, program_id: str) -> set[str]:
    """The event ids of the program's imported events."""
    keys = t.idempotency_keys
    with db.read() as conn:
        return {key.removeprefix("import:") for (key,) in conn.execute(
            select(keys.c.key).where(keys.c.scope == program_id, keys.c.key.startswith("import:")))}


def last_line_in_ledger(history: FaultyHistory, ids: set[str]) -> int:
    """The line of the last event of the file the ledger holds (by the first row with its id)."""
    last, seen = 0, set()
    for number, line in enumerate(history.lines, start=1):
        try:
            event_id = json.loads(line)["event_id"]
        except ValueError:
            continue
        if event_id not in seen and event_id in ids:
            last = number
        seen.add(event_id)
    return last


def rejects_written(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bad_rows_cost_no_valid_row_however_often_the_import_is_killed(database_url: str, tmp_path: Path) -> None:
    """Future-dated rows, unknown members, malformed lines, ids reused with other content and
    rows out of order scattered through the file; `dangol import` killed with SIGKILL three
    times at random points, then run to the end: the ledger holds the valid rows' points
    exactly, and the last run reports every bad row once, with its original reason."""
    rng = random.Random(20261206)
    history = faulty_history(rng, events=3_000, members=40, faults=90, now=datetime.now(timezone.utc))
    path = history.write(tmp_path / "history.jsonl")
    services = Services.open(database_url, migrate=False)
    services.programs.create_program("shop", "Shop", "KRW")
    valid = len(history.valid)
    batch = 25
    for n, (low, high) in enumerate([(0.15, 0.3), (0.4, 0.55), (0.65, 0.85)]):
        target = rng.randrange(int(valid * low), int(valid * high))
        rejects = tmp_path / f"rejects-{n}.jsonl"
        crashing = dangol(database_url, "import", str(path), "--batch-size", str(batch), "--rejects", str(rejects))
        deadline = time.monotonic() + 120
        while len(imported(services.db, "shop")) < target and crashing.poll() is None:
            assert time.monotonic() < deadline, "the import made no progress"
            time.sleep(0.01)
        if crashing.poll() is not None:
            code, output = finish(crashing)
            pytest.fail(f"the import ended (exit {code}) with {len(imported(services.db, 'shop'))} of {valid} "
                        f"valid rows imported, before it could be killed: {output[-2000:]}")
        os.kill(crashing.pid, signal.SIGKILL)
        crashing.communicate(timeout=60)
        assert crashing.returncode == -signal.SIGKILL, "the import finished before it could be killed"
        # What the killed run committed, it had written to its rejects file, reasons and all
        # (but perhaps for its last batch: killed between the commit and the write).
        resume = last_line_in_ledger(history, imported(services.db, "shop"))
        written = {entry["line"]: entry["code"] for entry in rejects_written(rejects)}
        assert written.items() <= history.bad.items()
        assert {line: code for line, code in history.bad.items() if line <= resume - batch}.items() <= written.items()

    resume = last_line_in_ledger(history, imported(services.db, "shop"))
    rejects = tmp_path / "rejects.jsonl"
    code, output = finish(dangol(database_url, "import", str(path), "--batch-size", str(batch),
                                 "--rejects", str(rejects)))
    assert code == 1, output
    assert f"{len(history.bad)} rejected" in output and f"{history.duplicates} duplicates" in output, output
    final = rejects_written(rejects)
    assert [(entry["line"], entry["code"]) for entry in final] == sorted(history.bad.items())
    # Rejected by an earlier run and not retried (later rows are in): still its own reason.
    earlier = [entry for entry in final if entry["line"] < resume
               and entry["code"] in ("validation-error", "unknown-member", "out-of-order")]
    assert earlier and all(entry["previously_rejected"] for entry in earlier)
    assert balances_by_ref(services.db, "shop") == expected_balances(history)
    code, output = finish(dangol(database_url, "check"))
    assert code == 0 and output.startswith("OK"), output
    services.db.dispose()
