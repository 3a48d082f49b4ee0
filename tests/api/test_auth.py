"""API keys: every call but health, readiness and the OpenAPI document needs one; program
keys reach only their program, with read for GETs and write for everything else."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dangol.service.container import Services
from dangol.service.programs import Scope

from .helpers import Api, assert_problem


@pytest.fixture
def keys(services: Services, program_id: str) -> dict[str, str]:
    services.programs.create_program("rival", "Rival", "KRW")
    make = services.programs.create_api_key
    return {"read": make(program_id, {Scope.READ}, "dashboard")[1],
            "write": make(program_id, {Scope.WRITE}, "pos")[1],
            "rival": make("rival", {Scope.READ, Scope.WRITE}, "rival pos")[1]}


def test_no_key_or_a_bad_key_is_a_401(client: TestClient, admin_token: str, program_id: str) -> None:
    path = f"/v1/programs/{program_id}"
    body = assert_problem(client.get(path), 401, "unauthorized")
    assert "Bearer" in body["detail"]
    assert client.get(path).headers["www-authenticate"].startswith("Bearer")
    wrong_secret = admin_token[:-4] + ("AAAA" if not admin_token.endswith("AAAA") else "BBBB")
    for headers in [{"Authorization": f"Bearer {wrong_secret}"}, {"Authorization": "Bearer dgl_nope"},
                    {"Authorization": "Bearer not-a-key"}, {"Authorization": f"Basic {admin_token}"},
                    {"Authorization": "Bearer"}, {"X-API-Key": "dgl_" + "x" * 500},
                    {"X-API-Key": "dgl_\x7f\x01key"}]:
        assert_problem(client.get(path, headers=headers), 401, "unauthorized")
    # A POST without a key is refused before its key or body are looked at.
    assert_problem(client.post(f"{path}/members", content=b"{", headers={"content-type": "application/json"}),
                   401, "unauthorized")


def test_a_revoked_key_is_a_401(client: TestClient, services: Services, program_id: str) -> None:
    key, token = services.programs.create_api_key(program_id, {Scope.READ}, "old till")
    assert client.get(f"/v1/programs/{program_id}", headers={"X-API-Key": token}).status_code == 200
    services.programs.revoke_api_key(key.id)
    assert_problem(client.get(f"/v1/programs/{program_id}", headers={"X-API-Key": token}), 401, "unauthorized")


def test_bearer_and_x_api_key_headers_both_work(client: TestClient, admin_token: str, program_id: str) -> None:
    bearer = {"Authorization": f"Bearer {admin_token}"}
    assert client.get(f"/v1/programs/{program_id}", headers=bearer).status_code == 200
    assert client.get(f"/v1/programs/{program_id}", headers={"X-API-Key": admin_token}).status_code == 200


def test_read_keys_read_and_write_keys_write(client: TestClient, keys: dict[str, str], program_id: str,
                                             member_id: str) -> None:
    reader, writer = Api(client, keys["read"]), Api(client, keys["write"])
    base = f"/v1/programs/{program_id}/members/{member_id}"
    assert reader.get(f"{base}/balance").status_code == 200
    body = assert_problem(reader.post(f"{base}/earn", {"points": 10}), 403, "forbidden")
    assert "write" in body["detail"]
    assert writer.post(f"{base}/earn", {"points": 10}).status_code == 200
    assert writer.get(f"{base}/balance").json()["available"] == 10  # write implies read


def test_program_keys_stay_in_their_program(client: TestClient, keys: dict[str, str], program_id: str,
                                            member_id: str) -> None:
    rival = Api(client, keys["rival"])
    base = f"/v1/programs/{program_id}/members/{member_id}"
    for response in [rival.get(f"/v1/programs/{program_id}"), rival.get(f"{base}/balance"),
                     rival.get(f"{base}/transactions"), rival.post(f"{base}/earn", {"points": 1}),
                     rival.post(f"/v1/programs/{program_id}/expiry-runs"),
                     rival.get("/v1/programs/no-such-program"), rival.get("/v1/programs/BAD!")]:
        body = assert_problem(response, 403, "forbidden")
        assert "rival" in body["detail"]
    assert rival.get("/v1/programs/rival").status_code == 200


def test_a_member_of_another_program_is_not_found_through_this_one(admin: Api, program_id: str,
                                                                    member_id: str) -> None:
    admin.post("/v1/programs", {"id": "second", "name": "Second", "currency": "KRW"})
    for response in [admin.get(f"/v1/programs/second/members/{member_id}"),
                     admin.get(f"/v1/programs/second/members/{member_id}/balance"),
                     admin.post(f"/v1/programs/second/members/{member_id}/earn", {"points": 5})]:
        assert_problem(response, 404, "program-mismatch")
    hold_owner = f"/v1/programs/{program_id}/members/{member_id}"
    admin.post(f"{hold_owner}/earn", {"points": 2_000})
    hold_id = admin.post(f"{hold_owner}/holds", {"points": 1_000}).json()["hold"]["id"]
    assert_problem(admin.get(f"/v1/programs/second/holds/{hold_id}"), 404, "unknown-hold")
    assert_problem(admin.post(f"/v1/programs/second/holds/{hold_id}/void"), 404, "program-mismatch")
    assert admin.get(f"/v1/programs/{program_id}/holds/{hold_id}").json()["status"] == "active"


def test_admin_only_operations(client: TestClient, keys: dict[str, str], admin: Api, program_id: str) -> None:
    writer = Api(client, keys["write"])
    assert_problem(writer.post("/v1/programs", {"id": "mine", "name": "Mine", "currency": "KRW"}), 403, "forbidden")
    assert_problem(writer.get("/v1/programs"), 403, "forbidden")
    assert_problem(writer.post(f"/v1/programs/{program_id}/api-keys", {"name": "x", "scopes": ["write"]}),
                   403, "forbidden")
    listed = admin.get("/v1/programs").json()["items"]
    assert {p["id"] for p in listed} == {program_id, "rival"}


def test_health_readiness_and_openapi_need_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    assert client.get("/openapi.json").status_code == 200
