"""The operator console over HTTP (the app `dangol serve` runs, on both engines): every
route × every role × anonymous answers as the role table allows, CSRF and session fixation
are refused, and an adjustment made in the console is in the books and the audit log."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from dangol.api import create_app
from dangol.domain import FixedClock
from dangol.domain.commands import Enroll
from dangol.service.container import Services
from dangol.service.staff.audit import CLI
from dangol.staff.roles import Permission, Role, may
from dangol.staff.totp import code_at

from .helpers import staffed_services

PASSWORD = "correct horse battery"


@pytest.fixture
def console(database_url: str, clock: FixedClock) -> Iterator[tuple[Services, dict[Role, str]]]:
    services = staffed_services(database_url, clock)
    services.programs.create_program("market", "Talent marketplace", "KRW")
    secrets = {}
    for role in Role:
        enrolled = services.staff.create(role.value, role.value, PASSWORD, CLI, totp=role is not Role.AUDITOR)
        secrets[role] = enrolled.totp_secret or ""
    yield services, secrets
    services.db.dispose()


def client(services: Services) -> TestClient:
    return TestClient(create_app(services), base_url="https://testserver", follow_redirects=False)


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def signed_in(services: Services, secrets: dict[Role, str], role: Role, clock: FixedClock) -> TestClient:
    browser = client(services)
    token = form_token(browser.get("/console/sign-in").text)
    code = code_at(secrets[role], clock.now()) if secrets[role] else ""
    answer = browser.post("/console/sign-in", data={"csrf_token": token, "username": role.value,
                                                    "password": PASSWORD, "code": code})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/", answer.text
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    clock.advance(seconds=30)  # the next sign-in needs the next code
    return browser


def member_id(services: Services, ref: str = "customer-1") -> str:
    return str(services.ledger.run("market", Enroll(ref), f"enrol-{ref}")["member"]["id"])


# (method, path, permission): every console route that needs a session.
ROUTES = [
    ("GET", "/console/", Permission.VIEW),
    ("GET", "/console/members", Permission.VIEW),
    ("GET", "/console/programs/market/members/{m}", Permission.VIEW),
    ("POST", "/console/programs/market/members/{m}/adjust", Permission.ADJUST_POINTS),
    ("GET", "/console/audit", Permission.READ_AUDIT_LOG),
    ("POST", "/console/programs/market/members/{m}/suspend", Permission.CHANGE_MEMBER_STATUS),
    ("POST", "/console/programs/market/members/{m}/reactivate", Permission.CHANGE_MEMBER_STATUS),
    ("GET", "/console/programs/market/dashboard", Permission.VIEW),
    ("GET", "/console/programs/market/rules", Permission.VIEW),
    ("POST", "/console/programs/market/rules/check", Permission.EDIT_RULES),
    ("POST", "/console/programs/market/rules/publish", Permission.PUBLISH_RULES),
    ("GET", "/console/programs/market/api-keys", Permission.MANAGE_API_KEYS),
    ("POST", "/console/programs/market/api-keys", Permission.MANAGE_API_KEYS),
    ("POST", "/console/programs/market/api-keys/nokey/revoke", Permission.MANAGE_API_KEYS),
    ("GET", "/console/log", Permission.VIEW),
    ("GET", "/console/fraud-reviews", Permission.READ_FRAUD_REVIEWS),
    ("POST", "/console/programs/market/fraud-reviews/1/release", Permission.SETTLE_FRAUD_REVIEWS),
    ("POST", "/console/programs/market/fraud-reviews/1/reverse", Permission.SETTLE_FRAUD_REVIEWS),
    ("POST", "/console/programs/market/members/{c}/close", Permission.CHANGE_MEMBER_STATUS),  # a member each
]


def test_every_route_answers_every_role_as_the_table_allows_and_anonymous_goes_to_sign_in(
        console: tuple[Services, dict[Role, str]], clock: FixedClock) -> None:
    services, secrets = console
    member = member_id(services)
    anonymous = client(services)
    for method, path, _ in ROUTES:
        answer = anonymous.request(method, path.format(m=member, c=member), data={"points": "5", "reason": "x"})
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/sign-in"), path
        assert member not in answer.text
    for role in Role:
        browser = signed_in(services, secrets, role, clock)
        page = browser.get("/console/").text
        token = form_token(page)
        closable = member_id(services, f"to-close-by-{role.value}")
        for method, path, permission in ROUTES:
            data = {"csrf_token": token, "points": "5", "reason": f"goodwill from {role.value}",
                    "document": "program: market\n", "name": f"key of {role.value}", "scope": "read"}
            answer = browser.request(method, path.format(m=member, c=closable),
                                     data=data if method == "POST" else None)
            if may(role, permission):
                # 400/404/409: allowed, and refused for what the form says (an invalid ruleset, a
                # status change the member's status does not allow, an unknown key), never a 500.
                assert answer.status_code in (200, 303, 400, 404, 409), (role, path, answer.text)
            else:
                assert answer.status_code == 403, (role, path)
                assert member not in answer.text and "goodwill" not in answer.text and "staff.create" not in answer.text
    adjusted = {e["actor"] for e in services.staff_audit.entries().items if e["action"] == "member.adjust"}
    assert adjusted == {"staff:owner", "staff:support"}
    assert services.reader.balance("market", member)["available"] == 10
    assert services.reader.member("market", member)["status"] == "active"  # suspended, then reactivated
    actions = {(e["actor"], e["action"]) for e in services.staff_audit.entries(limit=200).items}
    assert ("staff:owner", "member.suspend") in actions and ("staff:owner", "api_key.create") in actions
    assert not {a for a in actions if a[0] in ("staff:marketer", "staff:auditor") and a[1] != "staff.sign_in"}


def test_an_adjustment_is_in_the_books_and_the_audit_log_with_who_where_and_before_after(
        console: tuple[Services, dict[Role, str]], clock: FixedClock) -> None:
    services, secrets = console
    member = member_id(services)
    browser = signed_in(services, secrets, Role.SUPPORT, clock)
    page = browser.get(f"/console/programs/market/members/{member}").text
    refused = browser.post(f"/console/programs/market/members/{member}/adjust",
                           data={"csrf_token": form_token(page), "points": "250", "reason": ""})
    assert refused.status_code == 400 and 'value="250"' in refused.text and 'role="alert"' in refused.text
    done = browser.post(f"/console/programs/market/members/{member}/adjust",
                        data={"csrf_token": form_token(page), "points": "250", "reason": "lost receipt",
                              "key": "adjust-1"})
    assert done.status_code == 303
    assert services.reader.balance("market", member)["available"] == 250
    entry = [e for e in services.staff_audit.entries().items if e["action"] == "member.adjust"][-1]
    assert entry["actor"] == "staff:support" and entry["address"] == "testclient" and entry["member_id"] == member
    assert entry["before"]["available"] == 0 and entry["after"]["available"] == 250
    assert entry["detail"]["reason"] == "lost receipt"
    resent = browser.post(f"/console/programs/market/members/{member}/adjust",
                          data={"csrf_token": form_token(page), "points": "250", "reason": "lost receipt",
                                "key": "adjust-1"})  # the same form sent again (a double click, a reload)
    assert resent.status_code == 303 and services.reader.balance("market", member)["available"] == 250
    assert len([e for e in services.staff_audit.entries().items if e["action"] == "member.adjust"]) == 1
    owner = signed_in(services, secrets, Role.OWNER, clock)
    assert "lost receipt" in owner.get("/console/audit").text


def test_a_form_without_the_sessions_token_changes_nothing(console: tuple[Services, dict[Role, str]],
                                                           clock: FixedClock) -> None:
    services, secrets = console
    member = member_id(services)
    browser = signed_in(services, secrets, Role.OWNER, clock)
    other = signed_in(services, secrets, Role.SUPPORT, clock)
    session = browser.cookies.get("dangol_console")
    for token in ("", "forged", form_token(other.get("/console/").text)):
        answer = browser.post(f"/console/programs/market/members/{member}/adjust",
                              data={"csrf_token": token, "points": "100", "reason": "forged"},
                              cookies={"dangol_console": session})
        assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in?reason=forged"
    assert services.reader.balance("market", member)["available"] == 0
    fresh = client(services)
    fresh.get("/console/sign-in")
    refused = fresh.post("/console/sign-in", data={"csrf_token": "forged", "username": "owner", "password": PASSWORD,
                                                   "code": code_at(secrets[Role.OWNER], clock.now())})
    assert refused.status_code == 400 and "set-cookie" not in {k.lower() for k in refused.headers
                                                               if "dangol_console=" in refused.headers[k]}


def test_a_session_planted_before_sign_in_is_never_the_one_after(console: tuple[Services, dict[Role, str]],
                                                                 clock: FixedClock) -> None:
    services, secrets = console
    attacker = signed_in(services, secrets, Role.AUDITOR, clock)
    planted = attacker.cookies.get("dangol_console")
    assert planted
    victim = client(services)
    victim.cookies.set("dangol_console", planted, domain="testserver.local", path="/console")
    token = form_token(victim.get("/console/sign-in").text)
    answer = victim.post("/console/sign-in", data={"csrf_token": token, "username": "owner", "password": PASSWORD,
                                                    "code": code_at(secrets[Role.OWNER], clock.now())},
                         cookies={"dangol_console": planted})
    assert answer.status_code == 303
    assert services.staff_sign_in.session(planted) is None  # the planted session ended
    assert attacker.get("/console/").status_code == 303


def test_wrong_credentials_keep_the_username_and_say_so_in_the_browsers_language(
        console: tuple[Services, dict[Role, str]]) -> None:
    services, _ = console
    browser = client(services)
    token = form_token(browser.get("/console/sign-in").text)
    for language, message in (("ko", "사용자 이름, 비밀번호 또는 코드가 올바르지 않습니다."),
                              ("en", "Wrong username, password or code.")):
        answer = browser.post(f"/console/sign-in?lang={language}", data={
            "csrf_token": token, "username": "owner", "password": "not the password", "code": "123456"})
        assert answer.status_code == 400 and message in answer.text and 'value="owner"' in answer.text
