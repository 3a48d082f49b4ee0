"""Helpers for the API tests."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient


class Api:
    """A thin caller that sends a fresh Idempotency-Key with every POST unless given one."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.token = token

    def headers(self, key: str | None = None, **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}", **extra}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.headers())

    def post(self, path: str, body: Any = None, key: str | None = None) -> Any:
        key = key or f"key-{uuid.uuid4()}"
        return self.client.post(path, json=body, headers=self.headers(key))


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem of this status and type; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"https://dangol.dev/problems/{code}"
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == response.request.url.path
    return dict(body)
