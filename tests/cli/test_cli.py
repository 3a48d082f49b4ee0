"""The `dangol` command: init, balance, check, expire, programs and keys, and its errors."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from dangol.domain import Money
from dangol.domain import commands as cmd
from dangol.service.container import Services
from dangol.service.programs import Scope
from dangol.storage import tables as t

from .helpers import dangol, one_error_line, tokens


def admin_keys(services: Services) -> int:
    with services.db.read() as conn:
        return conn.execute(select(func.count()).select_from(t.api_keys)
                            .where(t.api_keys.c.program_id.is_(None))).scalar_one()


def enrol_with_points(services: Services, ref: str, points: int, **earn: object) -> str:
    member = services.ledger.run("market", cmd.Enroll(ref))["member"]["id"]
    services.ledger.run("market", cmd.Earn(member, points=points, **earn))  # type: ignore[arg-type]
    return member


def test_init_makes_the_database_and_one_admin_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'dangol.db'}"
    first = dangol(url, "init")
    assert first.exit_code == 0, first.output
    [token] = tokens(first.stdout)
    services = Services.open(url, migrate=False)
    key = services.programs.authenticate(token)
    assert key is not None and key.scopes == {Scope.ADMIN}

    again = dangol(url, "init")
    assert again.exit_code == 0 and tokens(again.stdout) == []
    assert "An admin key exists already" in again.stdout
    assert admin_keys(services) == 1
    another = dangol(url, "init", "--new-admin-key")
    assert len(tokens(another.stdout)) == 1 and admin_keys(services) == 2


def test_init_on_an_existing_postgres_or_sqlite_database(database_url: str) -> None:
    result = dangol(database_url, "init")
    assert result.exit_code == 0, result.output
    assert "is ready (schema" in result.stdout and len(tokens(result.stdout)) == 1


@pytest.mark.parametrize("command", [["check"], ["balance", "m_x"], ["expire"], ["import", "x.csv"]])
def test_commands_need_an_initialised_database(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "none.db"
    result = dangol(f"sqlite:///{path}", *command)
    assert result.exit_code == 2
    assert one_error_line(result) == f"error: there is no database at {path}: run `dangol init` first"
    assert not path.exists()


def test_an_empty_database_is_not_mistaken_for_an_initialised_one(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    result = dangol(f"sqlite:///{path}", "check")
    assert result.exit_code == 2
    assert "is not initialised: run `dangol init`" in one_error_line(result)


def test_balance_by_reference_by_id_and_as_json(live: Services, database_url: str) -> None:
    member = enrol_with_points(live, "customer-7", 1_250)
    by_ref = dangol(database_url, "balance", "--ref", "customer-7")
    assert by_ref.exit_code == 0, by_ref.output
    assert f"Member {member} (customer-7), active" in by_ref.stdout
    assert "available" in by_ref.stdout and "1,250" in by_ref.stdout
    by_id = dangol(database_url, "balance", member, "--program", "market", "--json")
    shown = json.loads(by_id.stdout)
    assert shown["member"]["external_ref"] == "customer-7"
    assert {k: v for k, v in shown["balance"].items() if k != "as_of"} == {
        "member_id": member, "available": 1_250, "pending": 0, "held": 0, "debt": 0,
        "expiring_soon": {"within_days": 30, "points": 0, "next_expiry": None}}


@pytest.mark.parametrize(("args", "message"), [
    (["balance", "m_nope"], "error: no member 'm_nope' in program market"),
    (["balance", "--ref", "ghost"], "error: no member with reference 'ghost' in program market"),
    (["balance"], "error: name a member id or --ref"),
    (["balance", "--program", "cafe", "--ref", "x"], "error: no program 'cafe'"),
    (["expire", "--as-of", "2025-01-01"], "error: --as-of must be an ISO 8601 time with a zone"),
    (["expire", "--as-of", "2999-01-01T00:00:00Z"], "error: expiry cannot run ahead of the clock"),
    (["programs", "create", "cafe", "--name", "Café", "--currency", "KR"], "error: currency must be an ISO 4217"),
    (["programs", "create", "market", "--name", "Again", "--currency", "KRW"], "error: program 'market' already"),
    (["keys", "create", "--program", "market", "--scope", "everything"], "error: a scope is read, write or personal"),
    (["keys", "create"], "error: pass --program P (with --scope) or --admin"),
    (["import", "missing.csv"], "error: missing.csv: No such file or directory"),
])
def test_errors_are_one_line_and_exit_2(live: Services, database_url: str, args: list[str], message: str) -> None:
    result = dangol(database_url, *args)
    assert result.exit_code == 2
    assert one_error_line(result).startswith(message)


def test_an_unreachable_database_is_one_line_too() -> None:
    result = dangol("postgresql://nobody@127.0.0.1:1/none", "check")
    assert result.exit_code == 2
    assert one_error_line(result).startswith("error: cannot use the database: connection failed")


def test_check_passes_then_reports_a_tampered_balance(live: Services, database_url: str) -> None:
    member = enrol_with_points(live, "customer-1", 2_000)
    ok = dangol(database_url, "check")
    assert ok.exit_code == 0
    assert ok.stdout.startswith("OK: the books balance (1 transactions, 1 members, 1 lots)")
    with live.db.write() as conn:
        conn.execute(update(t.members).where(t.members.c.id == member).values(available=5_000))
    bad = dangol(database_url, "check")
    assert bad.exit_code == 1
    assert f"mismatch: member {member}: cached available balance is 5000, expected 2000" in bad.stdout
    assert "FAILED: 1 mismatches" in bad.stdout
    assert json.loads(dangol(database_url, "check", "--json").stdout)["ok"] is False


def test_expire_settles_due_lots(live: Services, database_url: str) -> None:
    now = datetime.now(timezone.utc)
    member = live.ledger.run("market", cmd.Enroll("customer-2"))["member"]["id"]
    live.ledger.run("market", cmd.Earn(member, points=700, expires_at=now - timedelta(days=1)),
                    at=now - timedelta(days=10))
    live.ledger.run("market", cmd.Earn(member, money=Money(10_000, "KRW"), points=300))
    result = dangol(database_url, "expire", "--program", "market")
    assert result.exit_code == 0, result.output
    assert re.search(r"points expired\s+│\s+700 │", result.stdout), result.stdout
    assert live.reader.balance("market", member)["available"] == 300
    assert re.search(r"transactions\s+│\s+0 │", dangol(database_url, "expire").stdout)


def test_programs_and_keys(live: Services, database_url: str) -> None:
    created = dangol(database_url, "programs", "create", "cafe", "--name", "Café Dangol", "--currency", "KRW",
                     "--earn-points", "5", "--allow-transfers")
    assert created.exit_code == 0 and "Created program cafe" in created.stdout
    listed = json.loads(dangol(database_url, "programs", "list", "--json").stdout)
    assert [p["id"] for p in listed] == ["cafe", "market"]
    assert listed[0]["policy"]["earn_rate"] == {"points": 5, "per_minor_units": 100}
    assert listed[0]["policy"]["allow_transfers"] is True
    assert "Café Dangol" in dangol(database_url, "programs", "list").stdout

    quiet = dangol(database_url, "keys", "create", "--program", "cafe", "--scope", "read", "--scope", "write", "-q")
    key = live.programs.authenticate(quiet.stdout.strip())
    assert key is not None and key.program_id == "cafe" and key.scopes == {Scope.READ, Scope.WRITE}
    admin = dangol(database_url, "keys", "create", "--admin", "--name", "ops")
    [token] = tokens(admin.stdout)
    assert live.programs.authenticate(token).scopes == {Scope.ADMIN}  # type: ignore[union-attr]

    two = dangol(database_url, "balance", "--ref", "x")
    assert one_error_line(two) == "error: there are 2 programs (cafe, market): pass --program"
