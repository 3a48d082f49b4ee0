"""The restore drill, on SQLite and PostgreSQL: `dangol backup` (its own process) while a
thread goes on writing through the ledger service; `dangol restore` (its own process) into a
fresh database; then `dangol check` passes, the restored log, mirrored over HTTP, passes
`dangol verify audit`, and it extends the checkpoint signed before the backup."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import EXAMPLE_POLICY
from dangol.domain import Money
from dangol.domain.commands import Earn, Enroll
from dangol.service.container import Services
from dangol.storage.database import Database
from logserver.live import live

from .conftest import dangol, ok

PROGRAM = "market"


def run_dangol(url: str, *args: str, key: Path) -> subprocess.CompletedProcess[str]:
    """`dangol` in a process of its own, as an operator (or cron) runs it."""
    return subprocess.run([sys.executable, "-m", "dangol.cli", "--database-url", url, *args],
                          env={**os.environ, "DANGOL_LOG_KEY": str(key)}, capture_output=True, text=True, timeout=300)


def load_keys(url: str) -> set[str]:
    """The idempotency keys of the writer's earns that the database holds."""
    db = Database(url)
    try:
        with db.read() as conn:
            return {key for (key,) in conn.execute(
                text("SELECT key FROM idempotency_keys WHERE key LIKE :load"), {"load": "load-%"})}
    finally:
        db.dispose()


def wait_for(condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the writer stalled"
        time.sleep(0.01)


def test_a_backup_under_write_load_restores_into_a_fresh_database_that_checks_audits_and_extends_the_log(
        database_url: str, target_url: str, source_key: Path, target_key: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    source = Services.open(database_url, migrate=False)
    acknowledged: list[str] = []  # the writer's earns, in the order they were committed
    failures: list[BaseException] = []
    stop = threading.Event()
    try:
        source.programs.create_program(PROGRAM, "Market", "KRW", EXAMPLE_POLICY)
        members = [source.ledger.run(PROGRAM, Enroll(f"customer-{i}"))["member"]["id"] for i in range(10)]
        for i, member in enumerate(members):
            source.ledger.run(PROGRAM, Earn(member, money=Money(10_000 * (i + 1), "KRW"), order_ref=f"order-{i}"))
        source.log.integrate()
        source.log.sign()
        old_checkpoint = tmp_path / "before-the-backup.checkpoint"
        old_checkpoint.write_text(source.log.checkpoint_note())
        verifier_key = tmp_path / "log.vkey"
        verifier_key.write_text(source.log.verifier_key())

        def write() -> None:
            i = 0
            try:
                while not stop.is_set():
                    source.ledger.run(PROGRAM, Earn(members[i % len(members)], points=1 + i % 50), f"load-{i}")
                    acknowledged.append(f"load-{i}")
                    if i % 25 == 0:  # as a server's log worker does, every second or so
                        source.log.integrate()
                    if i % 100 == 0:
                        source.log.sign()
                    i += 1
            except BaseException as error:  # the test fails on it below
                failures.append(error)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            wait_for(lambda: len(acknowledged) >= 20)
            before = len(acknowledged)
            backup = tmp_path / "drill.backup"
            backed_up = run_dangol(database_url, "backup", str(backup), key=source_key)
            during = len(acknowledged)
            wait_for(lambda: len(acknowledged) >= during + 20)
        finally:
            stop.set()
            writer.join(60)
        assert not failures, failures
        assert backed_up.returncode == 0, backed_up.stderr
        assert during > before, "nothing was written while the backup ran"
    finally:
        source.db.dispose()

    restored = run_dangol(target_url, "restore", str(backup), key=target_key)
    assert restored.returncode == 0, restored.stderr
    assert f"The log's signer key: restored to {target_key}." in restored.stdout
    assert target_key.read_bytes() == source_key.read_bytes()

    # The copy is of one moment: every earn committed before the backup began, then an
    # unbroken run of those written during it, and none of those written after it ended.
    held = load_keys(target_url)
    assert before <= len(held) <= during and held == set(acknowledged[:len(held)])

    checked = run_dangol(target_url, "check", key=target_key)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "OK: the books balance" in checked.stdout and "OK: the log matches the ledger" in checked.stdout

    monkeypatch.setenv("DANGOL_LOG_KEY", str(target_key))
    again = Services.open(target_url, migrate=False)
    try:
        again.log.integrate()  # the entries written after the last integration before the backup
        again.log.sign()  # with the restored key
        with live(again) as url:
            extends = ok(dangol(target_url, "verify", "consistency", url, "--key", str(verifier_key),
                                "--old", str(old_checkpoint)))
            assert extends.startswith("OK: the log at size ")
            ok(dangol(target_url, "verify", "mirror", url, str(tmp_path / "mirror"), "--key", str(verifier_key)))
        audited = ok(dangol(target_url, "verify", "audit", str(tmp_path / "mirror")))
        assert any(line.startswith("OK: ") and "entries audited against the log" in line
                   for line in audited.splitlines()), audited
    finally:
        again.db.dispose()
