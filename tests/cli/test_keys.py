"""`dangol keys list` and `dangol keys revoke`, on both databases: revoking again answers
the same, and a running server (a process of its own) refuses a key the CLI revoked
within the documented 2 seconds, one revoked through its own API at once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dangol.service.container import Services
from dangol.service.programs import AUTH_CACHE_SECONDS, Scope

from .helpers import dangol, one_error_line, served, tokens

SLACK = 1.0  # seconds for a loaded machine to answer, past the documented bound


def test_list_then_revoke_twice(live: Services, database_url: str) -> None:
    till, _ = live.programs.create_api_key("market", {Scope.READ, Scope.WRITE}, "till-1")
    created = dangol(database_url, "keys", "create", "--admin", "--name", "ops")
    [admin_token] = tokens(created.stdout)

    table = dangol(database_url, "keys", "list")
    assert table.exit_code == 0, table.output
    assert "API keys (times in UTC)" in table.stdout and till.id in table.stdout
    assert admin_token not in table.stdout and admin_token.split("_", 2)[2] not in table.stdout  # the secret
    listed = json.loads(dangol(database_url, "keys", "list", "--json").stdout)
    assert [(k["name"], k["program_id"], k["scopes"], k["revoked_at"]) for k in listed] == [
        ("till-1", "market", ["read", "write"], None), ("ops", None, ["admin"], None)]
    assert [k["id"] for k in json.loads(dangol(database_url, "keys", "list", "--program", "market",
                                               "--json").stdout)] == [till.id]

    first = dangol(database_url, "keys", "revoke", till.id)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith(f"Revoked key {till.id} (till-1, program market) at ")
    again = dangol(database_url, "keys", "revoke", till.id)  # the same line: the first revocation's time
    assert (again.exit_code, again.stdout) == (0, first.stdout)
    [revoked] = json.loads(dangol(database_url, "keys", "list", "--program", "market", "--json").stdout)
    assert revoked["revoked_at"] is not None and revoked["revoked_at"] in first.stdout
    assert live.programs.authenticate(admin_token) is not None  # only that key

    unknown = dangol(database_url, "keys", "revoke", "0123456789abcdef")
    assert unknown.exit_code == 2 and one_error_line(unknown) == "error: no API key '0123456789abcdef'"
    nowhere = dangol(database_url, "keys", "list", "--program", "nowhere")
    assert nowhere.exit_code == 2 and one_error_line(nowhere) == "error: no program 'nowhere'"


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[str]:
    """`dangol serve` in a process of its own, on the test's database; its base URL."""
    with served(database_url, tmp_path / "serve.log") as running:
        yield running.url


def test_a_running_server_refuses_a_revoked_key_within_the_bound(live: Services, database_url: str,
                                                                 server: str) -> None:
    [admin_token] = tokens(dangol(database_url, "keys", "create", "--admin", "--name", "ops").stdout)
    till, till_token = live.programs.create_api_key("market", {Scope.READ}, "till-1")
    pos, pos_token = live.programs.create_api_key("market", {Scope.READ}, "pos-1")

    def status(token: str) -> int:
        return httpx.get(f"{server}/v1/programs/market", headers={"Authorization": f"Bearer {token}"}).status_code

    # Revoked by the CLI, another process: the server, which has just checked the key and
    # remembers it, refuses it within AUTH_CACHE_SECONDS.
    assert status(till_token) == 200
    assert dangol(database_url, "keys", "revoke", till.id).exit_code == 0
    revoked_at = time.monotonic()
    while status(till_token) == 200:
        assert time.monotonic() - revoked_at < AUTH_CACHE_SECONDS + SLACK, "still accepted past the bound"
        time.sleep(0.05)
    assert status(till_token) == 401

    # Revoked through the server's own API: refused by the very next request.
    assert status(pos_token) == 200
    admin = {"Authorization": f"Bearer {admin_token}"}
    revoked = httpx.delete(f"{server}/v1/programs/market/api-keys/{pos.id}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert status(pos_token) == 401
    assert httpx.delete(f"{server}/v1/programs/market/api-keys/{pos.id}", headers=admin).json() == revoked.json()
