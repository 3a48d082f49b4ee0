"""Who may see a portal page (no browser; on SQLite and PostgreSQL): single-use, short-lived
links; sessions bound to one member and one program; CSRF refusals that write nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from dangol.api import create_app
from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.service.programs import Scope

MARKET = "/v1/programs/market"


@pytest.fixture
def app_client(services: Services, program_id: str) -> Iterator[TestClient]:
    # HTTPS, as a browser would reach the portal: the session cookie is Secure.
    with TestClient(create_app(services), base_url="https://portal.test") as client:
        yield client


@pytest.fixture
def key(services: Services, program_id: str) -> dict[str, str]:
    token = services.programs.create_api_key(program_id, {Scope.READ, Scope.WRITE}, "brand backend")[1]
    return {"Authorization": f"Bearer {token}"}


def post(client: TestClient, key: dict[str, str], path: str, body: object = None, idem: str = "k") -> dict:  # type: ignore[type-arg]
    response = client.post(path, json=body, headers={**key, "Idempotency-Key": idem})
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


def member(client: TestClient, key: dict[str, str], ref: str, points: int) -> str:
    found = post(client, key, f"{MARKET}/members", {"external_ref": ref}, f"enrol-{ref}")["member"]["id"]
    post(client, key, f"{MARKET}/members/{found}/earn", {"points": points}, f"earn-{ref}")
    return str(found)


def link(client: TestClient, key: dict[str, str], member_id: str, idem: str | None = None) -> str:
    return str(post(client, key, f"{MARKET}/members/{member_id}/portal-links", None, idem or f"link-{member_id}")["path"])


def available(client: TestClient) -> str:
    found = re.search(r'data-testid="available">([0-9,]+)<', client.get("/portal/market/").text)
    assert found, "not signed in"
    return found.group(1)


def test_a_link_signs_in_once(app_client: TestClient, key: dict[str, str]) -> None:
    alice = member(app_client, key, "alice", 1_200)
    path = link(app_client, key, alice)
    opened = app_client.get(path, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/portal/market/"
    cookie = opened.headers["set-cookie"].lower()
    assert all(flag in cookie for flag in ("httponly", "secure", "samesite=lax", "path=/portal/market/"))
    assert available(app_client) == "1,200"
    other = TestClient(app_client.app, base_url="https://portal.test")
    again = other.get(path, follow_redirects=False)
    assert again.headers["location"] == "/portal/market/sign-in?reason=used"
    assert "already used" in other.get(again.headers["location"], headers={"Accept-Language": "en"}).text


def test_a_link_expires_after_ten_minutes(app_client: TestClient, key: dict[str, str], clock: FixedClock) -> None:
    path = link(app_client, key, member(app_client, key, "late", 10))
    clock.advance(minutes=10)
    assert app_client.get(path, follow_redirects=False).headers["location"].endswith("reason=expired")
    assert app_client.get("/portal/market/", follow_redirects=False).headers["location"].endswith("reason=session")


def test_a_replayed_request_gets_the_same_link_and_a_forged_one_nothing(app_client: TestClient,
                                                                       key: dict[str, str]) -> None:
    bob = member(app_client, key, "bob", 10)
    assert link(app_client, key, bob, "same") == link(app_client, key, bob, "same")
    carol = member(app_client, key, "carol", 10)
    reused = app_client.post(f"{MARKET}/members/{carol}/portal-links", headers={**key, "Idempotency-Key": "same"})
    assert reused.status_code == 409
    assert app_client.post(f"{MARKET}/members/m_nobody/portal-links",
                           headers={**key, "Idempotency-Key": "x"}).status_code == 404
    assert app_client.post(f"{MARKET}/members/{bob}/portal-links", headers={"Idempotency-Key": "y"}).status_code == 401
    assert app_client.get("/portal/market/link/not-a-real-link", follow_redirects=False).headers[
        "location"].endswith("reason=unknown")


def test_a_session_shows_its_own_member_only(app_client: TestClient, key: dict[str, str], services: Services) -> None:
    dave = member(app_client, key, "dave", 3_000)
    erin = member(app_client, key, "erin", 7_000)
    app_client.get(link(app_client, key, dave))
    assert available(app_client) == "3,000"
    # No portal URL names a member: naming one anyway changes nothing.
    for path in (f"/portal/market/?member_id={erin}", f"/portal/market/{erin}", f"/portal/market/history?member={erin}"):
        response = app_client.get(path, follow_redirects=False)
        assert "7,000" not in response.text and erin not in response.text, path
    # Another program's portal does not know this session.
    services.programs.create_program("other", "Other brand", "KRW")
    assert app_client.get("/portal/other/", follow_redirects=False).headers["location"].endswith("reason=session")


def test_forms_without_the_session_token_are_refused_and_write_nothing(app_client: TestClient,
                                                                      key: dict[str, str]) -> None:
    frank = member(app_client, key, "frank", 5_000)
    app_client.get(link(app_client, key, frank))
    form = {"request_id": "a" * 32, "points": "1000"}
    forged = app_client.post("/portal/market/redeem", data=form, follow_redirects=False)
    assert forged.status_code == 403
    wrong = app_client.post("/portal/market/redeem", data={**form, "csrf_token": "0" * 64}, follow_redirects=False)
    assert wrong.status_code == 403
    assert available(app_client) == "5,000"
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', app_client.get("/portal/market/act").text)
    assert token
    done = app_client.post("/portal/market/redeem", data={**form, "csrf_token": token.group(1)}, follow_redirects=False)
    assert done.status_code == 303
    again = app_client.post("/portal/market/redeem", data={**form, "csrf_token": token.group(1)}, follow_redirects=False)
    assert again.status_code == 303  # the same form sent twice redeems once
    assert available(app_client) == "4,000"


def test_a_bad_form_gets_its_errors_at_the_field_and_writes_nothing(app_client: TestClient,
                                                                   key: dict[str, str]) -> None:
    gina = member(app_client, key, "gina", 5_000)
    app_client.get(link(app_client, key, gina))
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', app_client.get("/portal/market/act").text)
    assert token
    for points, message in (("abc", "포인트를 정수로 입력하세요."), ("500", "최소 사용 포인트보다 적습니다."),
                            ("0", "1포인트 이상 입력하세요.")):
        response = app_client.post("/portal/market/redeem", data={
            "csrf_token": token.group(1), "request_id": points.encode().hex().ljust(32, "0"), "points": points})
        assert response.status_code == 422
        assert f'data-field="points">{message}<' in response.text
        assert f'value="{points}"' in response.text
    assert available(app_client) == "5,000"


def test_signing_out_ends_the_session(app_client: TestClient, key: dict[str, str]) -> None:
    app_client.get(link(app_client, key, member(app_client, key, "hana", 10)))
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', app_client.get("/portal/market/").text)
    assert token
    out = app_client.post("/portal/market/sign-out", data={"csrf_token": token.group(1)}, follow_redirects=False)
    assert out.headers["location"].endswith("reason=signed-out")
    assert app_client.get("/portal/market/", follow_redirects=False).status_code == 303
