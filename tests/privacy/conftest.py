"""Fixtures of the members' own data tests: the API client of tests/api, and keys with and
without the personal scope, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.conftest import admin, admin_token, client, member_id  # noqa: F401 (fixtures)
from api.helpers import Api
from dangol.service.container import Services
from dangol.service.programs import Scope

__all__ = ["admin", "admin_token", "client", "member_id"]


@pytest.fixture
def key_for(client: TestClient, services: Services) -> Callable[..., Api]:
    """An Api with a new key of `program` having these scopes."""

    def make(program: str, *scopes: Scope) -> Api:
        return Api(client, services.programs.create_api_key(program, set(scopes), "test")[1])

    return make


@pytest.fixture
def personal(key_for: Callable[..., Api], program_id: str) -> Api:
    """A key of the program with every scope a support desk would have."""
    return key_for(program_id, Scope.READ, Scope.WRITE, Scope.PERSONAL)


def rows(services: Services, sql: str, **params: Any) -> list[Any]:
    with services.db.read() as conn:
        return list(conn.execute(text(sql), params).all())


def audit_actions(services: Services, member: str) -> list[tuple[str, str]]:
    return [(r.action, r.actor) for r in rows(services, "SELECT action, actor FROM audit_log WHERE member_id = :m "
                                                        "ORDER BY id", m=member)]
