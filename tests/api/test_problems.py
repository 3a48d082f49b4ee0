"""Errors are RFC 9457 problems with a stable type per error, whatever raised them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from dangol.api import create_app
from dangol.api.problems import DOMAIN_STATUS
from dangol.domain.errors import DomainError
from dangol.service.container import Services

from .helpers import Api, assert_problem


@pytest.fixture
def base(admin: Api, program_id: str, member_id: str) -> str:
    admin.post(f"/v1/programs/{program_id}/members/{member_id}/earn",
               {"amount": {"amount": 40_000, "currency": "KRW"}, "order_ref": "o-1"})  # 2,000 points
    return f"/v1/programs/{program_id}/members/{member_id}"


def test_ledger_refusals(admin: Api, program_id: str, base: str) -> None:
    body = assert_problem(admin.post(f"{base}/redeem", {"points": 5_000}), 409, "insufficient-points")
    assert (body["requested"], body["available"]) == (5_000, 2_000)
    body = assert_problem(admin.post(f"{base}/redeem", {"points": 999}), 422, "below-minimum-redemption")
    assert body["minimum"] == 1_000
    assert_problem(admin.post(f"{base}/earn", {"amount": {"amount": 100, "currency": "USD"}}), 422,
                   "currency-mismatch")
    too_much = {"order_ref": "o-1", "refund": {"amount": 50_000, "currency": "KRW"}}
    body = assert_problem(admin.post(f"{base}/reversals", too_much), 409, "refund-exceeds-order")
    assert body["refundable"] == 40_000
    assert_problem(admin.post(f"{base}/reversals", {"order_ref": "never"}), 404, "unknown-order")
    other = admin.post(f"/v1/programs/{program_id}/members", {"external_ref": "friend"}).json()["member"]["id"]
    assert_problem(admin.post(f"{base}/transfers", {"to_member_id": other, "points": 10}), 422,
                   "transfers-not-allowed")
    assert_problem(admin.post(f"{base}/earn", {}), 422, "validation-error")  # neither points nor amount
    assert_problem(admin.post(f"{base}/adjustments", {"points": 0, "reason": "nothing"}), 422, "validation-error")
    admin.post(f"{base}/suspend")
    body = assert_problem(admin.post(f"{base}/earn", {"points": 10}), 409, "member-not-active")
    assert body["member_id"] == base.rsplit("/", 1)[-1]
    assert admin.get(f"{base}/balance").json()["available"] == 2_000  # nothing was written


def test_unknown_things_are_404(admin: Api, program_id: str, base: str) -> None:
    assert_problem(admin.get("/v1/programs/nowhere"), 404, "unknown-program")
    assert_problem(admin.post("/v1/programs/nowhere/members", {"external_ref": "x"}), 404, "unknown-program")
    assert_problem(admin.post("/v1/programs/nowhere/expiry-runs"), 404, "unknown-program")
    assert_problem(admin.get(f"/v1/programs/{program_id}/members/m_nobody"), 404, "unknown-member")
    assert_problem(admin.get(f"/v1/programs/{program_id}/members/m_nobody/transactions"), 404, "unknown-member")
    assert_problem(admin.post(f"/v1/programs/{program_id}/members/m_nobody/earn", {"points": 1}), 404,
                   "unknown-member")
    assert_problem(admin.get(f"/v1/programs/{program_id}/holds/12345"), 404, "unknown-hold")
    assert_problem(admin.post(f"/v1/programs/{program_id}/holds/12345/capture"), 404, "unknown-hold")
    assert_problem(admin.get("/v1/nothing-here"), 404, "not-found")


def test_conflicts_are_409(admin: Api, program_id: str, base: str) -> None:
    body = assert_problem(admin.post(f"/v1/programs/{program_id}/members", {"external_ref": "customer-1"}),
                          409, "conflict")
    assert body["member_id"] == base.rsplit("/", 1)[-1]
    assert_problem(admin.post("/v1/programs", {"id": program_id, "name": "Again", "currency": "KRW"}), 409,
                   "conflict")


INVALID_REDEMPTIONS: list[Any] = [
    {"points": 0}, {"points": -5}, {"points": 10**15 + 1}, {"points": 1.5}, {"points": "100"}, {"points": True},
    {"points": None}, {}, {"points": 10, "extra": 1}, {"points": 10, "order_ref": "a\x00b"},
    {"points": 10, "order_ref": "x" * 201}, {"points": 10, "reason": "line\nbreak"},
    {"points": 10, "order_ref": ""}, [1, 2], "text", 12,
]
INVALID_EARNINGS: list[Any] = [
    {"points": 10, "expires_at": "2027-01-01T00:00:00"},  # naive
    {"points": 10, "expires_at": "not a date"},
    {"points": 10, "expires_at": "9999-12-31T23:59:59+00:00"},
    {"points": 10, "available_at": "0001-01-01T00:00:00+05:00"},
    {"amount": {"amount": 100, "currency": "krw"}},
    {"amount": {"amount": -1, "currency": "KRW"}},
    {"amount": {"amount": 10**15 + 1, "currency": "KRW"}},
    {"amount": {"amount": 100, "currency": "KRW", "tip": 5}},
]


def test_invalid_bodies_are_422(admin: Api, base: str) -> None:
    for body in INVALID_REDEMPTIONS:
        problem = assert_problem(admin.post(f"{base}/redeem", body), 422, "validation-error")
        assert problem["errors"] and all({"loc", "msg", "type"} <= set(e) for e in problem["errors"]), body
    for body in INVALID_EARNINGS:
        assert_problem(admin.post(f"{base}/earn", body), 422, "validation-error")
    assert admin.get(f"{base}/balance").json()["available"] == 2_000


def test_invalid_path_and_query_parameters_are_422(admin: Api, program_id: str, base: str) -> None:
    for path in ["/v1/programs/Market", "/v1/programs/a", f"/v1/programs/{'p' * 64}",
                 f"/v1/programs/{program_id}/members/{'m' * 41}", f"/v1/programs/{program_id}/members/bad%00id",
                 f"/v1/programs/{program_id}/holds/0", f"/v1/programs/{program_id}/holds/{2**62 + 1}",
                 f"/v1/programs/{program_id}/holds/abc", f"{base}/transactions?limit=0",
                 f"{base}/transactions?limit=201", f"{base}/transactions?cursor=-1",
                 f"{base}/lots?cursor=1234567890123456789", f"{base}/lots?include_spent=maybe",
                 f"/v1/programs/{program_id}/members", f"/v1/programs/{program_id}/members?external_ref=%00"]:
        assert_problem(admin.client.get(path, headers=admin.headers()), 422, "validation-error")


def test_bodies_that_are_not_json_are_422(admin: Api, base: str) -> None:
    headers = admin.headers("raw")
    for content, content_type in [(b"{", "application/json"), (b'{"points": 1000', "application/json"),
                                  (b"\xff\xfe{}", "application/json"), (b'{"points": 1000}', "text/plain"),
                                  (b'{"points": 1000}', None), (b"points=1000", "application/x-www-form-urlencoded"),
                                  (b'{"points": 1' + b"0" * 5000 + b"}", "application/json"),
                                  (b'{"points": NaN}', "application/json")]:
        extra = {"content-type": content_type} if content_type else {}
        response = admin.client.post(f"{base}/redeem", content=content, headers={**headers, **extra})
        assert_problem(response, 422, "validation-error")


def test_oversized_bodies_are_413(admin: Api, base: str) -> None:
    big = {"points": 1_000, "reason": "x" * 70_000}
    assert_problem(admin.post(f"{base}/redeem", big), 413, "payload-too-large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the body is counted as it comes
        yield b'{"points": 1000, "reason": "'
        for _ in range(100):
            yield b"y" * 1_000
        yield b'"}'

    response = admin.client.post(f"{base}/redeem", content=chunks(),
                                 headers={**admin.headers("chunked"), "content-type": "application/json"})
    assert_problem(response, 413, "payload-too-large")
    assert admin.get(f"{base}/balance").json()["available"] == 2_000


def test_wrong_methods_are_405(admin: Api, program_id: str) -> None:
    response = admin.client.delete(f"/v1/programs/{program_id}", headers=admin.headers())
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET"


def test_unexpected_errors_are_500_problems_without_internals(services: Services) -> None:
    app = create_app(services)

    def broken() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    def database_down() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    app.add_api_route("/boom", broken)
    app.add_api_route("/db-down", database_down)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
        body = assert_problem(response, 500, "internal-error")
        assert "hunter2" not in response.text and "RuntimeError" not in response.text
        body = assert_problem(client.get("/db-down"), 503, "service-unavailable")
        assert "refused" not in body["detail"]


def _domain_errors(cls: type[DomainError] = DomainError) -> list[type[DomainError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_domain_errors(sub)]
    return found


def test_every_domain_error_has_a_status_and_is_documented() -> None:
    """A new error in the domain needs a deliberate HTTP status and a line in docs/api.md."""
    documented = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    # The importer's own refusals (out-of-order) never reach the API: they are reject codes of
    # `dangol import`, documented in docs/import.md.
    for error in (e for e in _domain_errors() if not e.__module__.startswith("dangol.importer.")):
        assert error.code in DOMAIN_STATUS, error
        assert f"| `{error.code}` | {DOMAIN_STATUS[error.code]} |" in documented, error.code
