"""Staff accounts, signing in, sessions, throttling and the audit log, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from dangol.domain import FixedClock
from dangol.domain.errors import Conflict, InvalidRequest
from dangol.service.container import Services
from dangol.service.privacy.keys import DataKeysUnavailable
from dangol.service.staff.accounts import UnknownStaff
from dangol.service.staff.audit import CLI
from dangol.service.staff.sign_in import SignedIn
from dangol.staff.passwords import Passwords
from dangol.staff.roles import Permission, Role, may, needs_totp
from dangol.staff.sign_in import Refused
from dangol.staff.totp import code_at
from dangol.storage.audit_repository import AuditFilter

from .helpers import staffed_services

PASSWORD = "correct horse battery"
HERE = "192.0.2.10"


def owner(services: Services, username: str = "olive", role: str = "owner") -> str:
    enrolled = services.staff.create(username, role, PASSWORD, CLI)
    assert enrolled.totp_secret is not None and enrolled.totp_uri is not None
    assert enrolled.totp_uri.startswith("otpauth://totp/") and username in enrolled.totp_uri
    return enrolled.totp_secret


def test_roles_have_an_explicit_table_and_those_that_change_points_need_a_second_factor() -> None:
    assert may(Role.SUPPORT, Permission.ADJUST_POINTS) and not may(Role.SUPPORT, Permission.PUBLISH_RULES)
    assert may(Role.MARKETER, Permission.PUBLISH_RULES) and not may(Role.MARKETER, Permission.ADJUST_POINTS)
    assert all(not may(Role.AUDITOR, p) for p in Permission
               if p not in (Permission.VIEW, Permission.READ_AUDIT_LOG, Permission.READ_FRAUD_REVIEWS))
    assert may(Role.SUPPORT, Permission.SETTLE_FRAUD_REVIEWS) and not may(Role.MARKETER, Permission.READ_FRAUD_REVIEWS)
    assert [r for r in Role if needs_totp(r)] == [Role.OWNER, Role.MARKETER, Role.SUPPORT]


def test_an_owner_signs_in_with_password_and_code_and_the_session_finds_them(staffed: Services,
                                                                              clock: FixedClock) -> None:
    secret = owner(staffed)
    signed = staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), HERE)
    assert isinstance(signed, SignedIn) and signed.account.username == "olive"
    session = staffed.staff_sign_in.session(signed.token)
    assert session is not None and session.account.role is Role.OWNER
    staffed.staff_sign_in.sign_out(signed.token)
    assert staffed.staff_sign_in.session(signed.token) is None


@pytest.mark.parametrize("wrong", ["password", "code", "username"])
def test_a_wrong_password_code_or_username_is_refused_without_saying_which(staffed: Services, clock: FixedClock,
                                                                           wrong: str) -> None:
    secret = owner(staffed)
    code = code_at(secret, clock.now())
    attempt = {"username": "olive", "password": PASSWORD, "code": code}
    attempt[wrong] = {"password": "not the password!", "code": "000000" if code != "000000" else "111111",
                      "username": "nobody"}[wrong]
    refused = staffed.staff_sign_in.sign_in(attempt["username"], attempt["password"], attempt["code"], HERE)
    assert isinstance(refused, Refused) and refused.message == "wrong username, password or code"


def test_a_code_is_accepted_once(staffed: Services, clock: FixedClock) -> None:
    secret = owner(staffed)
    code = code_at(secret, clock.now())
    assert isinstance(staffed.staff_sign_in.sign_in("olive", PASSWORD, code, HERE), SignedIn)
    clock.advance(seconds=5)
    assert isinstance(staffed.staff_sign_in.sign_in("olive", PASSWORD, code, HERE), Refused)
    clock.advance(seconds=30)
    assert isinstance(staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), HERE), SignedIn)


def test_signing_in_never_keeps_the_session_the_browser_came_with(staffed: Services, clock: FixedClock) -> None:
    secret = owner(staffed)
    first = staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), HERE)
    assert isinstance(first, SignedIn)
    clock.advance(seconds=30)
    second = staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), HERE,
                                           previous_token=first.token)
    assert isinstance(second, SignedIn) and second.token != first.token
    assert staffed.staff_sign_in.session(first.token) is None
    assert staffed.staff_sign_in.session(second.token) is not None


def test_sessions_end_when_idle_and_at_their_absolute_limit(staffed: Services, clock: FixedClock) -> None:
    secret = owner(staffed)
    signed = staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), HERE)
    assert isinstance(signed, SignedIn)
    started = clock.now()
    for _ in range(25):  # in use every 29 minutes: alive until 12 hours after sign-in, not after
        clock.advance(minutes=29)
        alive = staffed.staff_sign_in.session(signed.token)
        assert (alive is not None) == (clock.now() < started + timedelta(hours=12))
    assert staffed.staff_sign_in.session(signed.token) is None
    clock.advance(seconds=30)
    again = staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), HERE)
    assert isinstance(again, SignedIn)
    clock.advance(minutes=31)
    assert staffed.staff_sign_in.session(again.token) is None


def test_five_failures_lock_the_account_for_fifteen_minutes_even_for_the_right_password(
        staffed: Services, clock: FixedClock) -> None:
    secret = owner(staffed)
    for n in range(5):
        assert isinstance(staffed.staff_sign_in.sign_in("olive", f"guess number {n}!", "123456", f"198.51.100.{n}"),
                          Refused)
    locked = staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), HERE)
    assert isinstance(locked, Refused) and locked.locked_until == clock.now() + timedelta(minutes=15)
    assert "too many failed sign-ins" in locked.message
    clock.advance(minutes=15, seconds=1)
    assert isinstance(staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), HERE), SignedIn)


def test_twenty_failures_from_one_address_lock_that_address_for_every_account(staffed: Services,
                                                                               clock: FixedClock) -> None:
    secret = owner(staffed)
    for n in range(20):
        staffed.staff_sign_in.sign_in(f"user{n}", "wrong password!", "123456", HERE)
    assert isinstance(staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), HERE), Refused)
    assert isinstance(staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), "192.0.2.99"),
                      SignedIn)


def test_disabling_ends_sessions_and_the_last_owner_stays(staffed: Services, clock: FixedClock) -> None:
    secret = owner(staffed)
    with pytest.raises(Conflict, match="last active owner"):
        staffed.staff.disable("olive", CLI)
    owner(staffed, "oscar")
    signed = staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), HERE)
    assert isinstance(signed, SignedIn)
    staffed.staff.disable("olive", CLI)
    assert staffed.staff_sign_in.session(signed.token) is None
    clock.advance(seconds=30)
    assert isinstance(staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), HERE), Refused)
    with pytest.raises(UnknownStaff):
        staffed.staff.disable("nobody", CLI)


def test_a_reset_second_factor_replaces_the_old_one(staffed: Services, clock: FixedClock) -> None:
    old = owner(staffed)
    new = staffed.staff.reset_totp("olive", CLI).totp_secret
    assert new is not None and new != old
    if code_at(old, clock.now()) != code_at(new, clock.now()):
        assert isinstance(staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(old, clock.now()), HERE), Refused)
    assert isinstance(staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(new, clock.now()), HERE), SignedIn)


def test_bad_accounts_are_refused_and_nothing_is_written(staffed: Services) -> None:
    owner(staffed)
    for username, role, password, totp, expected in [
        ("Olive Oyl", "owner", PASSWORD, True, InvalidRequest), ("ann", "admin", PASSWORD, True, InvalidRequest),
        ("ann", "owner", "short", True, InvalidRequest), ("ann", "support", PASSWORD, False, InvalidRequest),
        ("olive", "owner", PASSWORD, True, Conflict),
    ]:
        with pytest.raises(expected):
            staffed.staff.create(username, role, password, CLI, totp=totp)
    assert [a.username for a in staffed.staff.list()] == ["olive"]
    auditor = staffed.staff.create("audrey", "auditor", PASSWORD, CLI, totp=False)
    assert auditor.totp_secret is None


def test_an_auditor_without_a_second_factor_signs_in_with_the_password(staffed: Services) -> None:
    staffed.staff.create("audrey", "auditor", PASSWORD, CLI, totp=False)
    assert isinstance(staffed.staff_sign_in.sign_in("audrey", PASSWORD, "", HERE), SignedIn)


def test_a_hash_made_with_other_parameters_is_replaced_at_sign_in(database_url: str, clock: FixedClock) -> None:
    old = staffed_services(database_url, clock)
    secret = owner(old)
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1))
    new = staffed_services(database_url, clock, stronger)
    signed = new.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), HERE)
    assert isinstance(signed, SignedIn)
    stored = new.staff.get("olive").password_hash
    assert "m=1024,t=2" in stored and not stronger.hasher.check_needs_rehash(stored)
    for svc in (old, new):
        svc.db.dispose()


def test_every_staff_action_is_in_the_audit_log_with_who_where_and_before_after(staffed: Services,
                                                                                  clock: FixedClock) -> None:
    secret = owner(staffed)
    owner(staffed, "sam", "support")
    staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), HERE)
    staffed.staff.disable("sam", CLI)
    staffed.staff.reset_totp("olive", CLI)
    items = staffed.staff_audit.entries().items
    assert [(e["action"], e["actor"], e["address"]) for e in items] == [
        ("staff.create", "cli", None), ("staff.create", "cli", None), ("staff.sign_in", "staff:olive", HERE),
        ("staff.disable", "cli", None), ("staff.reset_totp", "cli", None)]
    disabled = items[3]
    assert disabled["before"]["disabled"] is False and disabled["after"]["disabled"] is True
    assert all(secret not in str(e) and "argon2" not in str(e) for e in items)
    assert [e["action"] for e in staffed.staff_audit.entries(AuditFilter(actor="staff:olive")).items] == [
        "staff.sign_in"]


def test_staff_entries_stay_out_of_the_personal_data_audit_log_and_its_retention(staffed: Services,
                                                                                  clock: FixedClock) -> None:
    staffed.programs.create_program("market", "Talent marketplace", "KRW")
    owner(staffed)
    staffed.personal_data.set_policy("market", {"audit_log_days": 1})
    clock.advance(days=3)
    assert staffed.retention.run("market").audit_entries_removed == 0
    assert staffed.audit_log.entries("market").items == []
    assert [e["action"] for e in staffed.staff_audit.entries().items] == ["staff.create"]


def test_a_second_factor_secret_is_sealed_at_rest_and_signs_in_across_a_key_rotation(
        staffed: Services, clock: FixedClock) -> None:
    secret = owner(staffed)

    def stored() -> str:
        with staffed.db.read() as conn:
            return str(conn.exec_driver_sql("SELECT totp_secret FROM staff_accounts").scalar_one())

    before = stored()
    assert secret not in before and before.startswith("v1:")
    first_key = before.split(":")[1]
    rotated = staffed.data_keys.rotate()
    assert rotated.rewrapped >= 1 and stored().split(":")[1] == rotated.added != first_key
    assert staffed.data_keys.retire().retired == [first_key]  # nothing wraps it any more
    signed = staffed.staff_sign_in.sign_in("olive", PASSWORD, code_at(secret, clock.now()), HERE)
    assert isinstance(signed, SignedIn)
    new = staffed.staff.reset_totp("olive", CLI).totp_secret
    assert new is not None and new not in stored()
    # Copied onto another account, a sealed secret does not open.
    staffed.staff.create("mina", "support", PASSWORD, CLI)
    with staffed.db.write() as conn:
        conn.exec_driver_sql("UPDATE staff_accounts SET totp_secret = (SELECT totp_secret FROM staff_accounts "
                             "WHERE username = 'olive') WHERE username = 'mina'")
    with pytest.raises(DataKeysUnavailable):
        staffed.staff_sign_in.sign_in("mina", PASSWORD, code_at(new, clock.now() + timedelta(seconds=60)), HERE)
