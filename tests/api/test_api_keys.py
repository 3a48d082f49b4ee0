"""Listing and revoking a program's API keys over HTTP (admin key), on both databases: a
revoked key is refused at once, revoking it again answers the same, and no token ever
leaves the server again."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.service.programs import Scope

from .helpers import Api, assert_problem


def test_an_admin_lists_a_programs_keys_and_revokes_one(client: TestClient, admin: Api, services: Services,
                                                        program_id: str, clock: FixedClock) -> None:
    created = admin.post(f"/v1/programs/{program_id}/api-keys", {"name": "till-1", "scopes": ["write", "read"]})
    assert created.status_code == 201, created.text
    till, token = created.json()["id"], created.json()["token"]
    clock.advance(minutes=5)
    dashboard, _ = services.programs.create_api_key(program_id, {Scope.READ}, "dashboard")
    services.programs.create_program("rival", "Rival", "KRW")
    rival, _ = services.programs.create_api_key("rival", {Scope.READ}, "rival dashboard")

    keys = f"/v1/programs/{program_id}/api-keys"
    listed = admin.get(keys)
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == [
        {"id": till, "program_id": program_id, "scopes": ["read", "write"], "name": "till-1",
         "created_at": "2026-01-01T09:00:00Z", "revoked_at": None},
        {"id": dashboard.id, "program_id": program_id, "scopes": ["read"], "name": "dashboard",
         "created_at": "2026-01-01T09:05:00Z", "revoked_at": None}]  # the admin key and rival's are not the program's
    assert token not in listed.text

    # The till's key works, and this server now remembers it; revoked, it is refused at once.
    till_api = Api(client, token)
    assert till_api.get(f"/v1/programs/{program_id}").status_code == 200
    clock.advance(minutes=5)
    revoked = admin.client.delete(f"{keys}/{till}", headers=admin.headers())
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() == {"id": till, "program_id": program_id, "scopes": ["read", "write"], "name": "till-1",
                              "created_at": "2026-01-01T09:00:00Z", "revoked_at": "2026-01-01T09:10:00Z"}
    assert_problem(till_api.get(f"/v1/programs/{program_id}"), 401, "unauthorized")
    assert_problem(till_api.post(f"/v1/programs/{program_id}/members", {"external_ref": "c-1"}), 401, "unauthorized")

    # Again, later: nothing changes, the same answer (the first revocation's time).
    clock.advance(minutes=5)
    again = admin.client.delete(f"{keys}/{till}", headers=admin.headers())
    assert (again.status_code, again.json()) == (200, revoked.json())
    assert admin.get(keys).json()["items"][0]["revoked_at"] == "2026-01-01T09:10:00Z"
    assert admin.get(keys).json()["items"][1]["revoked_at"] is None  # the other key still works


def test_only_the_programs_own_keys_and_only_by_an_admin(client: TestClient, admin: Api, services: Services,
                                                         program_id: str) -> None:
    services.programs.create_program("rival", "Rival", "KRW")
    rival, rival_token = services.programs.create_api_key("rival", {Scope.READ, Scope.WRITE}, "rival pos")
    _, writer_token = services.programs.create_api_key(program_id, {Scope.WRITE}, "pos")
    keys = f"/v1/programs/{program_id}/api-keys"

    # Another program's key, an admin key, or no key by that id: not this program's to revoke.
    admin_key = next(k for k in services.programs.api_keys() if k.program_id is None)
    for key_id in (rival.id, admin_key.id, "0123456789abcdef"):
        body = assert_problem(admin.client.delete(f"{keys}/{key_id}", headers=admin.headers()), 404, "unknown-api-key")
        assert key_id in body["detail"]
    assert Api(client, rival_token).get("/v1/programs/rival").status_code == 200  # still works
    assert_problem(admin.client.delete(f"{keys}/not%20an%20id", headers=admin.headers()), 422, "validation-error")
    assert_problem(admin.get("/v1/programs/nowhere/api-keys"), 404, "unknown-program")

    # A program's own write key may neither list nor revoke keys; without a key, a 401.
    writer = Api(client, writer_token)
    assert_problem(writer.get(keys), 403, "forbidden")
    assert_problem(client.delete(f"{keys}/{rival.id}", headers=writer.headers()), 403, "forbidden")
    assert_problem(client.delete(f"{keys}/{rival.id}"), 401, "unauthorized")
    assert all(k.revoked_at is None for k in services.programs.api_keys())
