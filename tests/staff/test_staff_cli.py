"""`dangol staff` as an operator uses it from a shell."""

from __future__ import annotations

import json
import re

from cli.helpers import dangol, one_error_line
from dangol.staff.totp import code_at

from .helpers import staffed_services

PASSWORD = "correct horse battery"


def test_the_first_owner_is_created_asked_for_a_password_and_shown_the_second_factor(database_url: str) -> None:
    created = dangol(database_url, "staff", "create", "olive", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert created.exit_code == 0, created.output
    secret = re.search(r"TOTP secret: ([A-Z2-7]{32})", created.stdout)
    assert secret is not None and "otpauth://totp/dangol:olive?secret=" in created.stdout
    services = staffed_services(database_url)
    try:
        signed = services.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret.group(1), services.clock.now()),
                                                "127.0.0.1")
        assert hasattr(signed, "token")
    finally:
        services.db.dispose()
    listed = json.loads(dangol(database_url, "staff", "list", "--json").stdout)
    assert [(a["username"], a["role"], a["totp"]) for a in listed] == [("olive", "owner", True)]
    assert secret.group(1) not in dangol(database_url, "staff", "list").stdout


def test_staff_commands_say_what_is_wrong_in_one_line(database_url: str) -> None:
    env = {"DANGOL_STAFF_PASSWORD": PASSWORD}
    assert dangol(database_url, "staff", "create", "olive", env=env).exit_code == 0
    assert one_error_line(dangol(database_url, "staff", "create", "olive", env=env)) == \
        "error: there is already a staff account 'olive'"
    assert "at least 12 characters" in one_error_line(
        dangol(database_url, "staff", "create", "sam", "--role", "support", env={"DANGOL_STAFF_PASSWORD": "short"}))
    assert "needs a second factor" in one_error_line(
        dangol(database_url, "staff", "create", "sam", "--role", "support", "--no-totp", env=env))
    assert "last active owner" in one_error_line(dangol(database_url, "staff", "disable", "olive"))
    assert one_error_line(dangol(database_url, "staff", "reset-totp", "nobody")) == \
        "error: there is no staff account 'nobody'"


def test_disable_reset_and_the_audit_log(database_url: str) -> None:
    env = {"DANGOL_STAFF_PASSWORD": PASSWORD}
    dangol(database_url, "staff", "create", "olive", env=env)
    dangol(database_url, "staff", "create", "audrey", "--role", "auditor", "--no-totp", env=env)
    assert "TOTP secret: " in dangol(database_url, "staff", "reset-totp", "olive").stdout
    assert dangol(database_url, "staff", "disable", "audrey").stdout.startswith("Disabled staff account audrey.")
    log = json.loads(dangol(database_url, "staff", "audit-log", "--json").stdout)
    assert [(e["action"], e["actor"]) for e in log["items"]] == [
        ("staff.create", "cli"), ("staff.create", "cli"), ("staff.reset_totp", "cli"), ("staff.disable", "cli")]
    assert "staff.disable" in dangol(database_url, "staff", "audit-log").stdout
    roles = json.loads(dangol(database_url, "staff", "roles", "--json").stdout)
    assert roles["auditor"] == {"permissions": ["read_audit_log", "read_fraud_reviews", "view"], "totp": False}
