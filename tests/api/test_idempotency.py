"""Every POST takes an Idempotency-Key: the same key and body give back the original
response, another body under the same key is a 409, and a missing key is a 400."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dangol.api import create_app
from dangol.domain import FixedClock
from dangol.domain.commands import Earn
from dangol.service.container import Services
from dangol.storage import tables as t

from concurrency.racing import DUPLICATES, race

from .helpers import Api, assert_problem


def _twice(admin: Api, path: str, body: Any, key: str) -> tuple[Any, Any]:
    return admin.post(path, body, key=key), admin.post(path, body, key=key)


@pytest.mark.parametrize("action, body", [
    ("earn", {"points": 1_500, "order_ref": "o-1"}),
    ("adjustments", {"points": 10, "reason": "welcome"}),
    ("holds", {"points": 1_000}),
])
def test_a_replay_returns_the_original_response(admin: Api, program_id: str, member_id: str, clock: FixedClock,
                                                action: str, body: dict[str, Any]) -> None:
    base = f"/v1/programs/{program_id}/members/{member_id}"
    admin.post(f"{base}/earn", {"points": 5_000})
    first = admin.post(f"{base}/{action}", body, key="replayed")
    clock.advance(minutes=5)  # a replay later still answers with the original receipt
    second = admin.post(f"{base}/{action}", body, key="replayed")
    assert first.status_code in (200, 201), first.text
    assert second.status_code == first.status_code
    assert second.content == first.content
    history = admin.get(f"{base}/transactions").json()["items"]
    assert len(history) == 2  # the first earn and one operation, not two


def test_enrol_and_program_creation_replay(admin: Api, program_id: str) -> None:
    first, second = _twice(admin, f"/v1/programs/{program_id}/members", {"external_ref": "c-9"}, "enrol-c-9")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.content == second.content
    assert first.headers["location"] == second.headers["location"]

    body = {"id": "bakery", "name": "Bakery", "currency": "EUR"}
    first, second = _twice(admin, "/v1/programs", body, "create-bakery")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.content == second.content


def test_status_changes_and_hold_settlement_replay(admin: Api, program_id: str, member_id: str) -> None:
    base = f"/v1/programs/{program_id}/members/{member_id}"
    admin.post(f"{base}/earn", {"points": 3_000})
    hold_id = admin.post(f"{base}/holds", {"points": 1_000}).json()["hold"]["id"]
    first, second = _twice(admin, f"/v1/programs/{program_id}/holds/{hold_id}/capture", None, "capture-1")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    first, second = _twice(admin, f"{base}/suspend", {"reason": "review"}, "suspend-1")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content


def test_the_same_key_with_another_body_is_a_conflict(admin: Api, program_id: str, member_id: str) -> None:
    base = f"/v1/programs/{program_id}/members/{member_id}"
    assert admin.post(f"{base}/earn", {"points": 100}, key="k").status_code == 200
    assert_problem(admin.post(f"{base}/earn", {"points": 101}, key="k"), 409, "idempotency-conflict")
    assert_problem(admin.post(f"{base}/adjustments", {"points": 100, "reason": "x"}, key="k"),
                   409, "idempotency-conflict")
    assert admin.get(f"{base}/balance").json()["available"] == 100

    admin.post("/v1/programs", {"id": "p-one", "name": "One", "currency": "KRW"}, key="p")
    assert_problem(admin.post("/v1/programs", {"id": "p-two", "name": "Two", "currency": "KRW"}, key="p"),
                   409, "idempotency-conflict")


def test_a_failed_request_leaves_its_key_unused(admin: Api, program_id: str, member_id: str) -> None:
    base = f"/v1/programs/{program_id}/members/{member_id}"
    assert_problem(admin.post(f"{base}/redeem", {"points": 1_000}, key="r"), 409, "insufficient-points")
    admin.post(f"{base}/earn", {"points": 2_000})
    assert admin.post(f"{base}/redeem", {"points": 1_000}, key="r").status_code == 200


def test_every_post_needs_a_valid_key(client: TestClient, admin: Api, program_id: str, member_id: str) -> None:
    posts = [("/v1/programs", {"id": "x1", "name": "X", "currency": "KRW"}),
             (f"/v1/programs/{program_id}/members", {"external_ref": "r"}),
             (f"/v1/programs/{program_id}/members/{member_id}/earn", {"points": 1}),
             (f"/v1/programs/{program_id}/members/{member_id}/close", None),
             (f"/v1/programs/{program_id}/holds/1/void", None),
             (f"/v1/programs/{program_id}/expiry-runs", None),
             (f"/v1/programs/{program_id}/api-keys", {"name": "k", "scopes": ["read"]})]
    for key in [None, "", "x" * 256, "caf\u00e9", "tab\tkey"]:
        headers = admin.headers() | ({} if key is None else {"Idempotency-Key": key.encode("latin-1")})
        for path, body in posts:
            assert_problem(client.post(path, json=body, headers=headers), 400, "idempotency-key-required")
    assert admin.get(f"/v1/programs/{program_id}/members/{member_id}").json()["status"] == "active"
    assert [p["id"] for p in admin.get("/v1/programs").json()["items"]] == [program_id]


def test_a_key_of_255_printable_characters_is_accepted(admin: Api, program_id: str, member_id: str) -> None:
    key = "a ~!" + "z" * 251
    base = f"/v1/programs/{program_id}/members/{member_id}"
    assert admin.post(f"{base}/earn", {"points": 5}, key=key).status_code == 200
    assert admin.post(f"{base}/earn", {"points": 5}, key=key).status_code == 200
    assert admin.get(f"{base}/balance").json()["available"] == 5


def test_keys_are_scoped_to_their_program(admin: Api, program_id: str, member_id: str) -> None:
    admin.post("/v1/programs", {"id": "other", "name": "Other", "currency": "KRW"})
    other = admin.post("/v1/programs/other/members", {"external_ref": "o"}).json()["member"]["id"]
    mine = f"/v1/programs/{program_id}/members/{member_id}/earn"
    assert admin.post(mine, {"points": 7}, key="shared").status_code == 200
    assert admin.post(f"/v1/programs/other/members/{other}/earn", {"points": 7}, key="shared").status_code == 200
    assert admin.get(f"/v1/programs/other/members/{other}/balance").json()["available"] == 7


def test_api_key_creation_is_not_replayed_with_its_token(admin: Api, services: Services, program_id: str) -> None:
    body = {"name": "till 1", "scopes": ["write"]}
    first = admin.post(f"/v1/programs/{program_id}/api-keys", body, key="till-1")
    assert first.status_code == 201, first.text
    token = first.json()["token"]
    again = assert_problem(admin.post(f"/v1/programs/{program_id}/api-keys", body, key="till-1"),
                           409, "api-key-already-issued")
    assert again["key_id"] == first.json()["id"]
    assert token not in str(again)
    assert_problem(admin.post(f"/v1/programs/{program_id}/api-keys", {"name": "till 2", "scopes": ["write"]},
                              key="till-1"), 409, "idempotency-conflict")
    with services.db.read() as conn:
        stored = " ".join(conn.execute(select(t.idempotency_keys.c.response)).scalars())
    secret = token.split("_", 2)[2]  # dgl_<key id>_<secret>; the secret may itself contain "_"
    assert first.json()["id"] in stored and secret not in stored
    assert Api(admin.client, token).get(f"/v1/programs/{program_id}").status_code == 200  # write implies read


def test_expiry_runs_replay_their_report(admin: Api, program_id: str, member_id: str, clock: FixedClock) -> None:
    base = f"/v1/programs/{program_id}/members/{member_id}"
    admin.post(f"{base}/earn", {"points": 900, "expires_at": "2026-01-02T00:00:00Z"})
    clock.advance(days=2)
    first = admin.post(f"/v1/programs/{program_id}/expiry-runs", None, key="nightly-0103")
    assert first.status_code == 200, first.text
    assert first.json()["expired_points"] == 900
    again = admin.post(f"/v1/programs/{program_id}/expiry-runs", None, key="nightly-0103")
    assert again.content == first.content
    fresh = admin.post(f"/v1/programs/{program_id}/expiry-runs", None, key="nightly-0103-b")
    assert fresh.json()["expired_points"] == 0  # nothing left to expire
    assert_problem(admin.post(f"/v1/programs/{program_id}/expiry-runs", {"as_of": "2026-01-02T12:00:00Z"},
                              key="nightly-0103"), 409, "idempotency-conflict")


def test_concurrent_requests_with_one_key_apply_once(services: Services, admin_token: str, program_id: str,
                                                     member_id: str) -> None:
    """Whether they race (PostgreSQL) or queue (SQLite), requests sharing a key earn once,
    and every one answers with the same receipt."""
    app = create_app(services)
    path = f"/v1/programs/{program_id}/members/{member_id}/earn"
    headers = {"Authorization": f"Bearer {admin_token}", "Idempotency-Key": "raced"}
    responses: list[Any] = []

    def send() -> None:
        with TestClient(app) as own_client:
            responses.append(own_client.post(path, json={"points": 10}, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == len(responses) == 6, [r.text for r in responses]
    assert len({r.content for r in winners}) == 1
    with TestClient(app) as retry_client:
        assert retry_client.post(path, json={"points": 10}, headers=headers).content == winners[0].content
        balance = retry_client.get(path.replace("/earn", "/balance"), headers=headers).json()
    assert balance["available"] == 10


def _keyed_post(app: Any, path: str, token: str, key: str, body: Any = None) -> Any:
    with TestClient(app) as own_client:
        return own_client.post(path, json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})


def test_a_key_creation_racing_its_retry_issues_one_key(services: Services, admin_token: str,
                                                        program_id: str) -> None:
    """The retries wait for the original, then answer as any later retry does; no other key
    is made on the way."""
    app = create_app(services)
    responses = race(services, lambda: _keyed_post(app, f"/v1/programs/{program_id}/api-keys", admin_token,
                                                   "till-9", {"name": "till 9", "scopes": ["write"]}))
    assert responses[0].status_code == 201, responses[0].text
    for retry in responses[1:]:
        assert assert_problem(retry, 409, "api-key-already-issued")["key_id"] == responses[0].json()["id"]
    with services.db.read() as conn:
        made = conn.execute(select(t.api_keys.c.id).where(t.api_keys.c.name == "till 9")).scalars().all()
    assert made == [responses[0].json()["id"]]


def test_an_expiry_run_racing_its_retry_answers_with_its_report(services: Services, admin_token: str,
                                                                program_id: str, member_id: str,
                                                                clock: FixedClock) -> None:
    """The retry waits for the run, and answers with its report (900 points expired), not
    with one of its own (nothing left to expire)."""
    services.ledger.run(program_id, Earn(member_id, points=900, expires_at=clock.now() + timedelta(days=1)))
    clock.advance(days=2)
    app = create_app(services)
    responses = race(services, lambda: _keyed_post(app, f"/v1/programs/{program_id}/expiry-runs", admin_token,
                                                   "nightly-0103"))
    assert responses[0].status_code == 200, responses[0].text
    assert responses[0].json()["expired_points"] == 900
    assert [(r.status_code, r.content) for r in responses[1:]] == [(200, responses[0].content)] * DUPLICATES
