"""RFC 9457 problem details: every error the API returns, whatever raised it.

A problem's `type` is a stable URI derived from a code (`DomainError.code` for domain
errors), so that clients switch on the type, never on the human-readable text."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from .responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..domain.errors import DomainError
from ..storage.database import LostRace

PROBLEM_BASE = "https://dangol.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger("dangol.api")

# Refusals that depend on the ledger's current state are 409 (the same request may
# succeed later); refusals of what the request asks for, whatever the state, are 422.
DOMAIN_STATUS: dict[str, int] = {
    "validation-error": 422,
    "below-minimum-redemption": 422,
    "transfers-not-allowed": 422,
    "currency-mismatch": 422,
    "insufficient-points": 409,
    "member-not-active": 409,
    # The sender's tier, which may change (as a member's status may): not the program's policy.
    "gifting-not-allowed": 409,
    "hold-not-active": 409,
    "refund-exceeds-order": 409,
    "conflict": 409,
    "live-program": 409,  # a live program has no test clock (and a test program never becomes live)
    "idempotency-conflict": 409,
    "unknown-program": 404,
    "unknown-member": 404,
    "no-tier-ladder": 404,
    "unknown-hold": 404,
    "unknown-order": 404,
    "unknown-subscription": 404,
    "unknown-delivery": 404,
    "unknown-staff": 404,  # staff accounts are the console's and the CLI's; mapped so none is ever a 500
    "unknown-coupon": 404,
    "unknown-api-key": 404,
    # Insight: a model asked of too little data; an experiment not in the program.
    "insufficient-data": 422,
    "unknown-experiment": 404,
    # Not 403: the caller may act on the program, the resource just is not in it.
    "program-mismatch": 404,
    # rulesets and events
    "invalid-ruleset": 422,
    "notice-required": 409,
    "unknown-ruleset": 404,
    "no-rules-in-force": 409,
    "referral-refused": 409,
    "fraud-refused": 403,
    "unknown-review": 404,
    "review-settled": 409,
    # The transparency log (service/log.py).
    "log-unavailable": 404,
    "log-inconsistent": 409,
    "bad-cosignature": 400,
    # Members' own data (service/privacy/).
    "member-erased": 409,
    "unknown-erasure": 404,
    # The key-encryption keys are missing or wrong: nothing personal can be read until fixed.
    "data-keys-unavailable": 503,
}

_HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Missing or invalid API key"),
    403: ("forbidden", "Not allowed for this API key"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Request body too large"),
    500: ("internal-error", "Internal server error"),
    503: ("service-unavailable", "Service temporarily unavailable"),
}

_RESERVED = {"type", "title", "status", "detail", "instance"}

# The storage layer writes through SQLAlchemy and, for bulk writes, the driver itself,
# so a database error may arrive in either wrapping. A process's connections all in use for
# longer than the pool waits (sa.TimeoutError) is the database unavailable too, for now.
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sa.IntegrityError, psycopg.IntegrityError, sqlite3.IntegrityError)
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (sa.OperationalError, psycopg.OperationalError,
                                                   sqlite3.OperationalError, sa.TimeoutError)


def problem_type(code: str) -> str:
    return PROBLEM_BASE + code


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="Where the invalid value is: body, query, path or header, then the field")
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem. Extension members (e.g. `available`, `requested`) depend on the type."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[PROBLEM_BASE + "insufficient-points"])
    title: str
    status: int
    detail: str
    instance: str = Field(description="The request path")
    errors: list[ValidationIssue] | None = Field(None, description="Present on validation errors")


@dataclass(eq=False)
class ApiProblem(Exception):
    """An error raised by the HTTP layer itself (authentication, idempotency headers, …)."""

    code: str
    title: str
    status: int
    detail: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.detail)


def problem_document(instance: str, code: str, title: str, status: int, detail: str,
                     extensions: dict[str, Any] | None = None) -> dict[str, Any]:
    """The problem's JSON: a response's body, or an item's answer in a batch."""
    body: dict[str, Any] = {"type": problem_type(code), "title": title, "status": status, "detail": detail,
                            "instance": instance}
    for name, value in (extensions or {}).items():
        # A context entry named like a standard member (a hold's `status`) must not hide it.
        key = f"resource_{name}" if name in _RESERVED else name
        body[key] = value if isinstance(value, (str, int, bool, float, list, type(None))) else str(value)
    return body


def domain_problem(instance: str, error: DomainError) -> dict[str, Any]:
    return problem_document(instance, error.code, error.title, DOMAIN_STATUS.get(error.code, 400), error.detail,
                            dict(error.context))


def validation_problem(instance: str, issues: list[dict[str, Any]]) -> dict[str, Any]:
    """A 422 listing every invalid value (`issues`: `loc`, `msg`, `type`), the first in `detail`."""
    return problem_document(instance, "validation-error", "Invalid request", 422, first_issue(issues),
                            {"errors": issues})


def first_issue(issues: list[dict[str, Any]]) -> str:
    """The first invalid value, in a line: `body.points: Input should be …`."""
    first = issues[0] if issues else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def problem_response(request: Request, code: str, title: str, status: int, detail: str,
                     extensions: dict[str, Any] | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    body = problem_document(request.url.path, code, title, status, detail, extensions)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _document_response(document: dict[str, Any]) -> JSONResponse:
    return JSONResponse(document, status_code=document["status"], media_type=PROBLEM_MEDIA_TYPE)


def http_problem(request: Request, status: int, detail: str | None = None,
                 headers: dict[str, str] | None = None) -> JSONResponse:
    code, title = _HTTP_CODES.get(status, (f"http-{status}", "HTTP error"))
    return problem_response(request, code, title, status, detail or title, headers=headers)


def _is_idempotency_header(loc: tuple[Any, ...]) -> bool:
    return len(loc) >= 2 and loc[0] == "header" and str(loc[1]).lower() == "idempotency-key"


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(_is_idempotency_header(tuple(e.get("loc", ()))) for e in errors):
        return idempotency_key_problem(request)
    return _document_response(validation_problem(request.url.path, validation_issues(errors)))


def validation_issues(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic's errors as the `errors` of a validation problem."""
    return [{"loc": [part if isinstance(part, (str, int)) else str(part) for part in e.get("loc", ())],
             "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in errors]


def idempotency_key_problem(request: Request) -> JSONResponse:
    return problem_response(
        request, "idempotency-key-required", "A valid Idempotency-Key header is required", 400,
        "every POST needs an Idempotency-Key header of 1 to 255 printable ASCII characters")


async def _on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return _document_response(domain_problem(request.url.path, exc))


async def _on_api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(request, exc.code, exc.title, exc.status, exc.detail, exc.extensions, exc.headers)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        # FastAPI's "error parsing the body": not UTF-8, or numbers too long to convert.
        return problem_response(request, "validation-error", "Invalid request", 422,
                                "the body is not valid JSON", {"errors": []})
    detail = exc.detail if isinstance(exc.detail, str) and exc.status_code not in (404, 500) else None
    return http_problem(request, exc.status_code, detail, dict(exc.headers or {}))


async def _on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # A database that is down, locked for too long or that aborted us in a deadlock: the
    # request changed nothing and may be retried with the same Idempotency-Key.
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.__class__.__name__)
    return http_problem(request, 503, "the database is unavailable, retry with the same Idempotency-Key",
                        {"Retry-After": "1"})


async def _on_concurrent_write(request: Request, exc: Exception) -> JSONResponse:
    # Two requests raced to store the same idempotency key, enrol the same reference or
    # create the same program; the loser wrote nothing. Like a request still in flight
    # under the same key, it is a 409; retried with the same key, it gets the winner's answer.
    return problem_response(request, "conflict", "Conflicts with the current state", 409,
                            "a concurrent request wrote the same thing first; retry with the same Idempotency-Key",
                            headers={"Retry-After": "1"})


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return http_problem(request, 500, "an unexpected error occurred; it has been logged")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(ApiProblem, _on_api_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    for error in (*INTEGRITY_ERRORS, LostRace):
        app.add_exception_handler(error, _on_concurrent_write)
    for error in UNAVAILABLE_ERRORS:
        app.add_exception_handler(error, _on_database_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)


_DESCRIPTIONS = {
    400: "Missing or malformed Idempotency-Key",
    401: "Missing or invalid API key",
    403: "The API key may not do this (other program, or missing scope)",
    404: "Unknown program, or no such member, hold, order, coupon, ruleset or API key in it",
    409: "Conflicts with the ledger's state, or the Idempotency-Key was used for another request",
    413: "Request body larger than 64 KiB",
    422: "Invalid request (validation error or a policy refusal)",
    503: "Database unavailable or not migrated",
}


def problem_responses(*statuses: int, why: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations of the problems an operation can return; every operation
    that reaches the database may also find it unavailable (503). `why` says what a status
    means on this operation where the usual words would be wrong (a 400 of a POST that
    takes no Idempotency-Key, a 404 of the log's routes)."""
    described = {**_DESCRIPTIONS, **(why or {})}
    return {status: {"model": Problem, "description": described[status]} for status in sorted({*statuses, 503})}
