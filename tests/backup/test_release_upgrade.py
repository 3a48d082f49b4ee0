"""A database made by the release before postings named their rules (schema 0011, log
entries of format v1, one earn per rule that paid) migrates to the head revision and then
passes `dangol check`, `dangol verify audit` and `dangol replay --check`; events recorded
after the upgrade are one transaction each (v2 entries), and the log holding both still
checks and audits.

The release's code is taken from the repository's history (its own process, its own
source tree), so the database is made exactly as that release made it."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dangol.domain import FixedClock, Money
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.storage.database import Database
from dangol.storage.migrate import current_revision, head_revision
from logserver.live import live

from .conftest import dangol, ok

RELEASE = "403db863e5c5e15f70cf26ca56c0f4aacb7bd930"  # schema 0011, transaction entries v1
REPO = Path(__file__).resolve().parents[2]

# What the release records: the program with the example rules, signups (welcome points),
# purchases that several rules pay (base, first purchase, launch week), a refund, a redemption;
# the log integrated and signed.
MAKE_RELEASE_DATABASE = """
import sys
from datetime import datetime, timezone
from dangol.domain import FixedClock, Money
from dangol.domain.commands import Redeem
from dangol.domain.program import ProgramPolicy
from dangol.domain.money import EarnRate
from dangol.service.container import Services
from dangol.service.events import EventInput

url, rules = sys.argv[1], open(sys.argv[2], encoding="utf-8").read()
clock = FixedClock(datetime(2025, 2, 1, tzinfo=timezone.utc))
services = Services.open(url, clock)
services.programs.create_program("market", "Market", "KRW", ProgramPolicy(earn_rate=EarnRate(5, 100)))
services.rulesets.set_policy("market", 0, "Asia/Seoul")
services.rulesets.publish("market", rules)
clock.set(datetime(2025, 3, 5, 3, tzinfo=timezone.utc))
record = services.events.record
for name in ("ann", "ben"):
    record("market", EventInput("s-" + name, "signup", member_id="m_" + name, external_ref=name))
    record("market", EventInput("p-" + name, "purchase", "m_" + name, amount=Money(40000, "KRW"), order_id="o-" + name))
record("market", EventInput("r-ben", "refund", "m_ben", amount=Money(10000, "KRW"), order_id="o-ben"))
services.ledger.run("market", Redeem("m_ann", 1000), "redeem-ann")
services.log.integrate()
services.log.sign()
services.db.dispose()
"""


def _release_source(tmp_path: Path) -> Path:
    """The release's `src` tree, from git (the test is skipped where the history is absent)."""
    target = tmp_path / "release"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", RELEASE, "src"], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"the release {RELEASE[:7]} is not in this checkout's history")
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "src"


def _versions(services: Services) -> list[tuple[str, int]]:
    return [(e["type"], e["v"]) for e in (json.loads(base64.b64decode(item["entry"]))
                                          for item in services.log.entries(0, 1000))]


def test_a_release_database_migrates_and_checks_and_audits(target_url: str, target_key: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    source = _release_source(tmp_path)
    example = source / "dangol" / "rules" / "examples" / "market.yaml"  # the release's own: it reads no newer rules
    made = subprocess.run([sys.executable, "-c", MAKE_RELEASE_DATABASE, target_url, str(example)],
                          env={**os.environ, "PYTHONPATH": str(source), "DANGOL_LOG_KEY": str(target_key)},
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    db = Database(target_url)
    assert current_revision(db) == "0011"
    db.dispose()

    monkeypatch.setenv("DANGOL_LOG_KEY", str(target_key))
    clock = FixedClock(datetime(2025, 3, 6, 3, tzinfo=timezone.utc))
    services = Services.open(target_url, clock)  # migrates to the head revision
    try:
        assert current_revision(services.db) == head_revision()
        checked = ok(dangol(target_url, "check", key=target_key))
        assert "OK: the books balance" in checked and "OK: the log matches the ledger" in checked
        before = _versions(services)
        assert ("transaction", 1) in before and ("transaction", 2) not in before

        # After the upgrade: a purchase two rules pay is one transaction, its entry a v2 one.
        bought = services.events.record("market", EventInput(
            "p-ann-2", "purchase", "m_ann", amount=Money(20000, "KRW"), order_id="o-ann-2"))
        assert len({p["transaction"]["id"] for p in bought["effects"]["points"]}) == 1
        services.log.integrate()
        services.log.sign()
        after = _versions(services)
        assert after[:len(before)] == before and after[len(before):] == [("transaction", 2)]

        checked = ok(dangol(target_url, "check", key=target_key))
        assert "OK: the books balance" in checked and "OK: the log matches the ledger" in checked
        # Replay writes today's shape; the release's earns, one per rule, are compared as one.
        replayed = ok(dangol(target_url, "replay", "--check", key=target_key))
        assert replayed.startswith("OK: 6 events of market replayed"), replayed
        verifier_key = tmp_path / "log.vkey"
        verifier_key.write_text(services.log.verifier_key())
        with live(services) as url:
            ok(dangol(target_url, "verify", "mirror", url, str(tmp_path / "mirror"), "--key", str(verifier_key)))
        audited = ok(dangol(target_url, "verify", "audit", str(tmp_path / "mirror")))
        assert any(line.startswith("OK: ") and "entries audited against the log" in line
                   for line in audited.splitlines()), audited
    finally:
        services.db.dispose()
