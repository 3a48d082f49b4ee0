"""Fixtures for the HTTP API: a client on the `services` of each backend, and keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from dangol.api import create_app
from dangol.service.container import Services
from dangol.service.programs import Scope

from .helpers import Api


@pytest.fixture
def admin_token(services: Services) -> str:
    return services.programs.create_api_key(None, {Scope.ADMIN}, "test admin")[1]


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as test_client:
        yield test_client


@pytest.fixture
def admin(client: TestClient, admin_token: str) -> Api:
    return Api(client, admin_token)


@pytest.fixture
def member_id(admin: Api, program_id: str) -> str:
    response = admin.post(f"/v1/programs/{program_id}/members", {"external_ref": "customer-1"})
    assert response.status_code == 201, response.text
    return str(response.json()["member"]["id"])
