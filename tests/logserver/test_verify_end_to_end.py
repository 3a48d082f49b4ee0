"""The verifier and the witness against the real server over HTTP, on SQLite and
PostgreSQL: a write's receipt proves inclusion; a mirror audits; and rows of the log
edited in the database (an entry, a deleted row, a reordered pair, a whole history
rewritten and re-signed with the operator's key) are caught at the first bad entry."""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dangol.cli.main import app
from dangol.domain import FixedClock
from dangol.domain.commands import Earn
from dangol.service.container import Services
from dangol.service.programs import Scope
from dangol.transparency import SIG_COSIGNATURE_V1, SignerKey

from .live import live
from .support import PROGRAM, every_kind


def dangol(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def failed(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("FAILED: ")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def publish(services: Services) -> None:
    services.log.integrate()
    services.log.sign()


def sql(services: Services, statement: str, params: tuple = ()) -> None:  # type: ignore[type-arg]
    with services.db.write() as conn:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        conn.exec_driver_sql(statement.replace("?", mark), params)


def entry_at(services: Services, index: int) -> bytes:
    return base64.b64decode(services.log.entries(index, 1)[0]["entry"])


@pytest.fixture
def key_file(services: Services, tmp_path: Path) -> str:
    path = tmp_path / "log.vkey"
    path.write_text(services.log.verifier_key())
    return str(path)


@pytest.fixture
def history(services: Services, clock: FixedClock) -> dict:  # type: ignore[type-arg]
    """Every kind of transaction, then 40 more earns and a published ruleset, in the log and signed."""
    r = every_kind(services, clock)
    for i in range(40):
        services.ledger.run(PROGRAM, Earn(r["bob" if i % 2 else "alice"], points=10 + i))
    services.rulesets.publish(PROGRAM, json.dumps({
        "program": PROGRAM, "version": "v1", "currency": "KRW", "effective_from": clock.now().isoformat(),
        "rules": [{"id": "welcome", "on": "signup", "actions": [{"award_points": {"fixed": 10}}]}]}))
    publish(services)
    return r


def test_a_write_over_http_gets_a_receipt_that_the_cli_proves(services: Services, history: dict,  # type: ignore[type-arg]
                                                              key_file: str) -> None:
    token = services.programs.create_api_key(PROGRAM, {Scope.READ, Scope.WRITE}, "e2e")[1]
    with live(services) as url:
        request = urllib.request.Request(
            f"{url}/v1/programs/{PROGRAM}/members/{history['alice']}/earn", method="POST",
            data=json.dumps({"points": 777}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                     "Idempotency-Key": "e2e-earn-1"})
        with urllib.request.urlopen(request) as response:
            receipt = json.loads(response.read())["log"][0]
        publish(services)
        proved = ok(dangol("verify", "receipt", url, "--key", key_file, "--sequence", str(receipt["sequence"]),
                           "--leaf-hash", receipt["leaf_hash"]))
        assert "the receipt is entry" in proved
        other = base64.b64encode(bytes(32)).decode()
        assert "another leaf" in failed(dangol("verify", "receipt", url, "--key", key_file, "--sequence",
                                               str(receipt["sequence"]), "--leaf-hash", other))


def test_mirror_and_audit_the_real_log(services: Services, history: dict, key_file: str,  # type: ignore[type-arg]
                                       tmp_path: Path) -> None:
    with live(services) as url:
        assert "mirrored" in ok(dangol("verify", "mirror", url, str(tmp_path / "m"), "--key", key_file))
        audited = json.loads(ok(dangol("verify", "audit", str(tmp_path / "m"), "--json")))
        assert audited["programs"][PROGRAM]["rulesets"] == 1  # the published ruleset's entry
        with urllib.request.urlopen(f"{url}/v1/log/report?program={PROGRAM}&period=month") as response:
            served = json.loads(response.read())
    # The server's public report is the one recomputed from the mirror, figure for figure.
    recomputed = json.loads(ok(dangol("verify", "report", str(tmp_path / "m"), "--program", PROGRAM, "--json")))
    assert served.pop("root_hash") and served == recomputed and recomputed["total"]["issued"] > 0
    alice = services.log.member_key(PROGRAM, history["alice"])["commitment"]
    balance = services.reader.balance(PROGRAM, history["alice"])
    mine = audited["programs"][PROGRAM]["members"][alice]
    assert {k: mine[k] for k in ("available", "pending", "held")} == {
        k: balance[k] for k in ("available", "pending", "held")}


@pytest.mark.parametrize("tamper", ["edited entry", "edited entry and leaf hash", "deleted entry", "reordered pair"])
def test_log_rows_edited_in_the_database_are_pinpointed(services: Services, history: dict, key_file: str,  # type: ignore[type-arg]
                                                        tmp_path: Path, tamper: str) -> None:
    i = 17
    if tamper.startswith("edited entry"):
        data = entry_at(services, i).replace(b'"amount":', b'"amount":9', 1)
        if tamper == "edited entry":
            sql(services, "UPDATE log_entries SET entry = ? WHERE leaf_index = ?", (data, i))
        else:
            from dangol.transparency import leaf_hash
            sql(services, "UPDATE log_entries SET entry = ?, leaf_hash = ? WHERE leaf_index = ?",
                (data, leaf_hash(data), i))
    elif tamper == "deleted entry":
        sql(services, "DELETE FROM log_entries WHERE leaf_index = ?", (i,))
    else:
        sql(services, "UPDATE log_entries SET leaf_index = -1 WHERE leaf_index = ?", (i,))
        sql(services, "UPDATE log_entries SET leaf_index = ? WHERE leaf_index = ?", (i, i + 1))
        sql(services, "UPDATE log_entries SET leaf_index = ? WHERE leaf_index = -1", (i + 1,))
    with live(services) as url:
        line = failed(dangol("verify", "mirror", url, str(tmp_path / "m"), "--key", key_file))
    assert line.startswith(f"FAILED: entry {i}: "), line


def rewrite_history(services: Services, index: int, member_id: str) -> None:
    """What an operator with database access and the log's key could do: edit an entry,
    rebuild the tree from scratch, and sign it again as if nothing had happened."""
    from dangol.transparency import leaf_hash

    data = entry_at(services, index).replace(b'"amount":', b'"amount":1', 1)
    sequence = services.log.entries(index, 1)[0]["sequence"]
    for statement in ("DELETE FROM log_cosignatures", "DELETE FROM log_checkpoints", "DELETE FROM log_nodes",
                      "UPDATE log_entries SET leaf_index = NULL", "UPDATE log_state SET tree_size = 0"):
        sql(services, statement)
    sql(services, "UPDATE log_entries SET entry = ?, leaf_hash = ? WHERE sequence = ?",
        (data, leaf_hash(data), sequence))
    services.ledger.run(PROGRAM, Earn(member_id, points=5))  # and the log grows, as logs do
    publish(services)


def test_a_rewritten_history_re_signed_is_caught_by_those_holding_an_older_checkpoint(
        services: Services, history: dict, key_file: str, tmp_path: Path) -> None:  # type: ignore[type-arg]
    witness_key = SignerKey.generate("witness.example/w1", SIG_COSIGNATURE_V1)
    (tmp_path / "w.key").write_text(witness_key.encode())
    services.log.add_witness(witness_key.vkey())
    witness = ["witness", "--log-key", key_file, "--key", str(tmp_path / "w.key"), "--state", str(tmp_path / "state")]
    with live(services) as url:
        ok(dangol("verify", "checkpoint", url, "--key", key_file, "--save", str(tmp_path / "old")))
        ok(dangol("verify", "mirror", url, str(tmp_path / "m"), "--key", key_file))
        assert "cosigned" in ok(dangol(witness[0], url, *witness[1:], "--once"))
        state = (tmp_path / "state").read_bytes()
        rewrite_history(services, 9, history["alice"])
        # A checkpoint on its own still verifies: it is signed with the log's key.
        ok(dangol("verify", "checkpoint", url, "--key", key_file))
        assert "does not extend" in failed(dangol("verify", "consistency", url, "--key", key_file,
                                                  "--old", str(tmp_path / "old")))
        line = failed(dangol("verify", "mirror", url, str(tmp_path / "m")))
        assert line.startswith("FAILED: entry 9: "), line
        alarm = dangol(witness[0], url, *witness[1:], "--once")
    assert alarm.exit_code == 3 and alarm.stderr.startswith("ALARM: "), alarm.output
    assert (tmp_path / "state").read_bytes() == state
