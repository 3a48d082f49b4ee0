"""`POST /v1/programs/{p}/events:batch`: many events in one request, each answered in its
place as sending it alone to `POST …/events` would have been answered, on both engines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dangol.api import create_app
from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.service.programs import Scope
from dangol.storage import tables as t

from api.helpers import Api, assert_problem
from events.test_record_many import _prepare, _strip, state

EVENTS = "/v1/programs/market/events"
BATCH = "/v1/programs/market/events:batch"
AT = "2025-03-04T10:00:00+09:00"


def _api(services: Services) -> Iterator[Api]:
    with TestClient(create_app(services)) as client:
        yield Api(client, services.programs.create_api_key("market", {Scope.WRITE}, "pos")[1])


@pytest.fixture
def one(services: Services, clock: FixedClock) -> Iterator[Api]:
    """The example program on `services`, for events sent one at a time."""
    _prepare(services, clock)
    clock.set(datetime(2025, 6, 1, tzinfo=timezone.utc))
    yield from _api(services)


@pytest.fixture
def many(twin: Services, clock: FixedClock, one: Api) -> Iterator[Api]:
    """The same program on a second database of the same engine, for the batch."""
    clock.set(datetime(2025, 2, 1, tzinfo=timezone.utc))
    _prepare(twin, clock)
    clock.set(datetime(2025, 6, 1, tzinfo=timezone.utc))
    yield from _api(twin)


def purchase(event_id: str, member: str, amount: int, order: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": "purchase", "member_id": member, "order_id": order or f"o-{event_id}",
            "amount": {"amount": amount, "currency": "KRW"}, "occurred_at": AT, **extra}


# Good events, and every way one can be refused, spread through the batch.
MIXED: list[Any] = [
    {"event_id": "s1", "type": "signup", "member_id": "m1", "external_ref": "c-1", "occurred_at": AT},
    {"event_id": "s2", "type": "signup", "member_id": "m2", "external_ref": "c-2", "occurred_at": AT},
    purchase("p1", "m1", 30_000, items=[{"category": "design", "amount": 30_000}]),
    purchase("p-cents", "m1", 30_000) | {"amount": {"amount": 1.5, "currency": "KRW"}},  # not an integer
    purchase("p2", "m2", 120_000),
    "not an event",
    purchase("p-ghost", "nobody", 10_000),  # an unknown member
    purchase("p-usd", "m2", 10_000) | {"amount": {"amount": 10_000, "currency": "USD"}},  # the program counts in KRW
    {"event_id": "r1", "type": "refund", "member_id": "m1", "order_id": "o-p1", "occurred_at": AT,
     "amount": {"amount": 90_000, "currency": "KRW"}},  # more than the order
    {"event_id": "v1", "type": "review", "member_id": "m1", "order_id": "o-p1", "occurred_at": AT},
    purchase("p1", "m1", 30_000, items=[{"category": "design", "amount": 30_000}]),  # again: the same answer
    purchase("p2", "m2", 99_000),  # the same id with another body
    {"event_id": "x1", "type": "purchase", "member_id": "m2", "occurred_at": AT},  # no order, no amount
    {"event_id": "late", "type": "review", "member_id": "m2", "occurred_at": "2031-01-01T00:00:00Z"},  # the future
    {"event_id": "u1", "type": "signup", "external_ref": "c-1", "member_id": "m9", "unknown": 1, "occurred_at": AT},
    purchase("p3", "m2", 50_000),
]


def _comparable(status: int, body: dict[str, Any], where: list[Any]) -> Any:
    """What must agree between the two paths: the status and the answer, without what
    differs between databases by design (ids, log receipts) or between the two requests
    (the problem's `instance`, the location of an invalid value: `body…` vs `body.events.i…`)."""
    if status == 200:
        return status, _strip(body)
    problem = {k: v for k, v in body.items() if k not in ("instance", "errors", "detail")}
    if "errors" in body:  # pydantic's: where in the event (at `where` in the request) and what
        assert all(e["loc"][:len(where)] == where for e in body["errors"])
        return status, problem, [(e["loc"][len(where):], e["type"], e["msg"]) for e in body["errors"]]
    return status, problem, body["detail"]


def test_a_batch_answers_each_event_as_sending_it_alone_would(one: Api, many: Api, services: Services,
                                                              twin: Services) -> None:
    singles = []
    for body in MIXED:
        response = one.client.post(EVENTS, json=body, headers=one.headers())
        singles.append(_comparable(response.status_code, response.json(), ["body"]))
    response = many.client.post(BATCH, json={"events": MIXED}, headers=many.headers())
    assert response.status_code == 200, response.text
    answer = response.json()
    results = answer["results"]
    assert [r["index"] for r in results] == list(range(len(MIXED)))
    assert [r["event_id"] for r in results] == [b.get("event_id") if isinstance(b, dict) else None for b in MIXED]
    for index, (single, item) in enumerate(zip(singles, results)):
        batched = _comparable(item["status"], item["result"] if item["status"] == 200 else item["problem"],
                              ["body", "events", index])
        assert batched == single, f"event {index}"
        if item["status"] != 200:
            assert "result" not in item
            assert item["problem"]["instance"] == BATCH
    assert [r["status"] for r in results] == [200, 200, 200, 422, 200, 422, 404, 422, 409, 200, 200, 409, 422,
                                              422, 422, 200]
    assert (answer["recorded"], answer["refused"]) == (7, 9)
    # Each invalid value is located in the batch.
    assert results[3]["problem"]["errors"][0]["loc"] == ["body", "events", 3, "amount", "amount"]
    assert results[3]["problem"]["detail"] == "body.events.3.amount.amount: Input should be a valid integer"
    assert results[5]["problem"]["errors"][0]["loc"] == ["body", "events", 5]
    assert state(twin) == state(services)


def test_a_batch_sent_again_gets_the_same_answers_and_writes_nothing_more(many: Api, twin: Services) -> None:
    first = many.client.post(BATCH, json={"events": MIXED}, headers=many.headers())
    written = state(twin)
    again = many.client.post(BATCH, json={"events": MIXED}, headers=many.headers())
    assert again.status_code == 200
    assert again.json() == first.json()
    assert state(twin) == written


def test_a_malformed_envelope_is_refused_whole_and_writes_nothing(many: Api, twin: Services) -> None:
    good = purchase("p1", "m1", 30_000)
    for body in ({"events": []}, {"events": [good] * 1_001}, [good], {"event": [good]},
                 {"events": [good], "atomic": True}, {"events": good}):
        problem = assert_problem(many.client.post(BATCH, json=body, headers=many.headers()), 422, "validation-error")
        assert problem["errors"][0]["loc"][0] == "body"
    truncated = many.client.post(BATCH, content=b'{"events": [', headers=many.headers() | {
        "Content-Type": "application/json"})
    assert_problem(truncated, 422, "validation-error")
    with twin.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(t.events)).scalar() == 0


def test_a_batch_may_be_larger_than_a_single_request_but_not_without_bound(many: Api, twin: Services,
                                                                           clock: FixedClock) -> None:
    start = datetime(2025, 3, 10, tzinfo=timezone.utc)
    events = [{"event_id": f"s{m}", "type": "signup", "member_id": f"m{m}", "external_ref": f"c-{m}",
               "occurred_at": start.isoformat()} for m in range(100)]
    events += [purchase(f"p{n}", f"m{n % 100}", 10_000 + n)
               | {"occurred_at": (start + timedelta(seconds=n)).isoformat()} for n in range(900)]
    body = json.dumps({"events": events}).encode()
    assert 64 * 1024 < len(body) < 2 * 1024 * 1024  # over a single request's limit, within a batch's
    response = many.client.post(BATCH, content=body, headers=many.headers() | {"Content-Type": "application/json"})
    assert response.status_code == 200, response.text[:500]
    assert response.json()["recorded"] == 1_000
    with twin.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(t.events)).scalar() == 1_000
    padded = json.dumps({"events": events[:1], "pad": "x" * (2 * 1024 * 1024)})
    assert_problem(many.client.post(BATCH, content=padded, headers=many.headers() | {
        "Content-Type": "application/json"}), 413, "payload-too-large")
    single = json.dumps(purchase("big", "m1", 1) | {"fields": {f"f{i}": "x" * 1_500 for i in range(45)}})
    assert_problem(many.client.post(EVENTS, content=single, headers=many.headers() | {
        "Content-Type": "application/json"}), 413, "payload-too-large")


def test_a_batch_needs_a_write_key_for_its_program(many: Api, twin: Services) -> None:
    reader = twin.programs.create_api_key("market", {Scope.READ}, "reader")[1]
    other = Api(many.client, reader)
    assert_problem(other.client.post(BATCH, json={"events": MIXED}, headers=other.headers()), 403, "forbidden")
    assert_problem(many.client.post(BATCH, json={"events": MIXED}), 401, "unauthorized")
    assert_problem(many.client.post("/v1/programs/nowhere/events:batch", json={"events": MIXED},
                                    headers=many.headers()), 403, "forbidden")
