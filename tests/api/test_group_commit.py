"""Group commit over HTTP: write requests that arrive while a batch commits are judged
together and committed once, and each gets the answer it would have had alone. Real
concurrency: each request from its own thread, through its own client and event loop, to
one app on a real database of each engine; the answers are compared with the same requests
sent one at a time, in the order the batch took them, to a second database."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dangol.api import create_app
from dangol.domain import FixedClock
from dangol.domain import commands as cmd
from dangol.service.container import Services
from dangol.service.programs import Scope

from conftest import EXAMPLE_POLICY
from events.test_record_many import _prepare, _strip

pytestmark = pytest.mark.timeout(120)

MEMBERS = "/v1/programs/market/members"
EVENTS = "/v1/programs/market/events"
Request = tuple[str, str, dict[str, Any] | None]  # path, Idempotency-Key, body


def _member(m: str, action: str) -> str:
    return f"{MEMBERS}/{m}/{action}"


# Opening balances: m1 1,500; m2 3,000; m3 none; m4 5,000 (the program: 5 points per 100
# KRW, redemptions from 1,000, no transfers). Each request is refused or not in any order
# but the two redemptions of m2, of which the first the batch takes succeeds.
OPENING = {"m1": 1_500, "m2": 3_000, "m3": 0, "m4": 5_000}
LEDGER_REQUESTS: list[Request] = [
    (_member("m1", "earn"), "earn-1", {"points": 1_000}),
    (_member("m2", "redeem"), "redeem-2a", {"points": 2_000}),
    (_member("m2", "redeem"), "redeem-2b", {"points": 2_000}),  # only one of the two fits
    (_member("m3", "redeem"), "redeem-3", {"points": 1_000}),  # insufficient points
    (_member("m4", "redeem"), "redeem-4", {"points": 500}),  # below the minimum redemption
    (_member("m4", "earn"), "used-before", {"points": 100}),  # the key went to another request
    (_member("m1", "earn"), "earn-1", {"points": 1_000}),  # a retry of the first, in the same batch
    (_member("m1", "transfers"), "gift-1", {"to_member_id": "m2", "points": 1_000}),  # not allowed
    (_member("m3", "adjustments"), "adjust-3", {"points": 700, "reason": "goodwill"}),
    (_member("m_ghost", "earn"), "earn-ghost", {"points": 10}),  # nobody
    (_member("m4", "earn"), "earn-4", {"amount": {"amount": 20_000, "currency": "KRW"}, "order_ref": "o-1"}),
    (_member("m4", "reversals"), "refund-4", {"order_ref": "o-unknown"}),  # an order it never earned for
]


def _open_ledger(services: Services) -> str:
    services.programs.create_program("market", "Talent market", "KRW", EXAMPLE_POLICY)
    for member, points in OPENING.items():
        services.ledger.run("market", cmd.Enroll(f"c-{member}", member_id=member))
        if points:
            services.ledger.run("market", cmd.Earn(member, points=points))
    services.ledger.run("market", cmd.Earn("m4", points=5), "used-before")
    return services.programs.create_api_key("market", {Scope.WRITE, Scope.READ}, "pos")[1]


class Gate:
    """Holds the first call of a service's batch method until released, so that the requests
    sent meanwhile queue behind it; records every call's items."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: object, method: str) -> None:
        self.calls: list[list[Any]] = []
        self.started = threading.Event()
        self.open = threading.Event()
        real: Callable[..., Any] = getattr(owner, method)

        def gated(program_id: str, batch: Any, *args: Any, **kwargs: Any) -> Any:
            self.calls.append(list(batch))
            if len(self.calls) == 1:
                self.started.set()
                assert self.open.wait(60)
            return real(program_id, batch, *args, **kwargs)

        monkeypatch.setattr(owner, method, gated)


def _post(client: TestClient, token: str, request: Request) -> tuple[int, bytes]:
    path, key, body = request
    headers = {"Authorization": f"Bearer {token}"} | ({"Idempotency-Key": key} if key else {})
    response = client.post(path, json=body, headers=headers)
    return response.status_code, response.content


def _concurrently(app: FastAPI, token: str, gate: Gate, first: Request, requests: list[Request],
                  ) -> list[tuple[int, bytes]]:
    """`first` is sent and held in its commit; then every request of `requests`, each from
    its own thread; once all of them wait in the queue, the gate opens. Returns each
    request's answer."""
    lane = app.state.write_lane
    answers: list[tuple[int, bytes] | None] = [None] * len(requests)

    def send(index: int | None) -> None:
        with TestClient(app) as own:  # its own event loop, as another connection would have
            answer = _post(own, token, first if index is None else requests[index])
            if index is not None:
                answers[index] = answer

    opener = threading.Thread(target=send, args=(None,))
    opener.start()
    assert gate.started.wait(30)
    senders = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 30
    while lane.waiting() < len(requests):
        assert time.monotonic() < deadline, f"{lane.waiting()} of {len(requests)} requests queued"
        time.sleep(0.01)
    gate.open.set()
    for thread in (opener, *senders):
        thread.join(60)
    return [a for a in answers if a is not None]


def _one_batch(gate: Gate) -> list[Any]:
    """The batch after the first request's: all the others at once."""
    assert len(gate.calls) == 2, [len(c) for c in gate.calls]
    return gate.calls[1]


@pytest.fixture
def app(services: Services) -> Iterator[FastAPI]:
    yield create_app(services)


def _assert_sequential_answers(twin: Services, token: str, first: Request, requests: list[Request],
                               order: list[int], answers: list[tuple[int, bytes]]) -> None:
    """The requests sent one at a time in `order` (the batch's) to `twin` give `answers`."""
    with TestClient(create_app(twin)) as one_by_one:
        _post(one_by_one, token, first)
        sequential = {i: _post(one_by_one, token, requests[i]) for i in order}
    for index, request in enumerate(requests):
        assert _comparable(answers[index]) == _comparable(sequential[index]), request


def _comparable(answer: tuple[int, bytes]) -> Any:
    status, content = answer
    return status, _strip(json.loads(content))


def test_concurrent_ledger_writes_are_one_batch_with_the_answers_of_one_at_a_time(
        services: Services, twin: Services, app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    token, twin_token = _open_ledger(services), _open_ledger(twin)
    gate = Gate(monkeypatch, services.ledger, "execute")
    first = (_member("m4", "earn"), "first", {"points": 1})
    answers = _concurrently(app, token, gate, first, LEDGER_REQUESTS)
    batch = _one_batch(gate)
    assert len(answers) == len(LEDGER_REQUESTS) == len(batch)

    # The batch's order is the order they queued in: the same requests, one at a time in that
    # order, to the twin database give the same answers.
    taken: set[int] = set()
    order = [_request_of(op.command, op.idempotency_key, taken) for op in batch]
    _assert_sequential_answers(twin, twin_token, first, LEDGER_REQUESTS, order, answers)

    statuses = [status for status, _ in answers]
    # One failing request in the middle of the batch costs no other its answer.
    assert sorted(statuses[1:3]) == [200, 409]
    assert [s for i, s in enumerate(statuses) if i not in (1, 2)] == [200, 409, 422, 409, 200, 422, 200, 404, 200,
                                                                    404]
    assert answers[6] == answers[0]  # the retry in the same batch: byte for byte
    with TestClient(app) as client:
        balances = {m: client.get(f"{MEMBERS}/{m}/balance", headers={"Authorization": f"Bearer {token}"}).json()
                    for m in OPENING}
        # Retried now, every request that succeeded gets its answer again, byte for byte.
        for request, answer in zip(LEDGER_REQUESTS, answers):
            if answer[0] == 200:
                assert _post(client, token, request) == answer, request
    assert {m: b["available"] for m, b in balances.items()} == {"m1": 2_500, "m2": 1_000, "m3": 700,
                                                               "m4": 5_000 + 5 + 1 + 1_000}
    assert services.check.run().ok


def _request_of(command: Any, key: str | None, taken: set[int]) -> int:
    """The index in LEDGER_REQUESTS of the request an operation came from."""
    for index, (path, request_key, _) in enumerate(LEDGER_REQUESTS):
        if request_key == key and index not in taken and f"/{getattr(command, 'member_id', '')}/" in path:
            taken.add(index)
            return index
    raise AssertionError(f"no request for {command!r} under {key!r}")


AT = "2025-03-04T10:00:00+09:00"


def _purchase(event_id: str, member: str, amount: int, order: str) -> dict[str, Any]:
    return {"event_id": event_id, "type": "purchase", "member_id": member, "order_id": order,
            "amount": {"amount": amount, "currency": "KRW"}, "occurred_at": AT}


EVENT_REQUESTS: list[Request] = [
    (EVENTS, "", _purchase("p1", "m1", 30_000, "o1")),
    (EVENTS, "", {"event_id": "s3", "type": "signup", "member_id": "m3", "external_ref": "c-3", "occurred_at": AT}),
    (EVENTS, "", _purchase("p-ghost", "m_ghost", 10_000, "o2")),  # nobody
    (EVENTS, "", {"event_id": "r1", "type": "refund", "member_id": "m2", "order_id": "o-old", "occurred_at": AT,
                  "amount": {"amount": 90_000, "currency": "KRW"}}),  # more than the order
    (EVENTS, "", _purchase("p1", "m1", 30_000, "o1")),  # the same event again
    (EVENTS, "", _purchase("p-old", "m2", 99_000, "o-other")),  # an id recorded before, with another body
    (EVENTS, "", {"event_id": "x1", "type": "purchase", "member_id": "m2", "occurred_at": AT}),  # no order
    (f"{EVENTS}:batch", "", {"events": [_purchase("b1", "m2", 40_000, "o-b1"),
                                        _purchase("b2", "m2", 12.5, "o-b2"),  # type: ignore[arg-type]
                                        {"event_id": "v1", "type": "review", "member_id": "m1", "order_id": "o1",
                                         "occurred_at": AT}]}),
    (EVENTS, "", _purchase("p4", "m2", 20_000, "o4")),
]


def _open_events(services: Services, clock: FixedClock) -> str:
    _prepare(services, clock)  # the example program and its ruleset
    clock.set(datetime(2025, 6, 1, tzinfo=timezone.utc))
    token = services.programs.create_api_key("market", {Scope.WRITE}, "pos")[1]
    with TestClient(create_app(services)) as client:
        for body in ({"event_id": "s1", "type": "signup", "member_id": "m1", "external_ref": "c-1", "occurred_at": AT},
                     {"event_id": "s2", "type": "signup", "member_id": "m2", "external_ref": "c-2", "occurred_at": AT},
                     _purchase("p-old", "m2", 50_000, "o-old")):
            assert _post(client, token, (EVENTS, "", body))[0] == 200
    return token


def _event_request_of(event_id: str, taken: set[int]) -> int:
    for index, (_, _, body) in enumerate(EVENT_REQUESTS):
        assert body is not None
        ids = [e["event_id"] for e in body["events"]] if "events" in body else [body["event_id"]]
        if event_id in ids and index not in taken:
            taken.add(index)
            return index
    raise AssertionError(f"no request for event {event_id!r}")


def test_concurrent_events_are_one_batch_with_the_answers_of_one_at_a_time(
        services: Services, twin: Services, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    token = _open_events(services, clock)
    twin_token = _open_events(twin, clock)
    app = create_app(services)
    gate = Gate(monkeypatch, services.events, "record_many")
    first = (EVENTS, "", _purchase("p0", "m1", 10_000, "o0"))
    answers = _concurrently(app, token, gate, first, EVENT_REQUESTS)
    batch = _one_batch(gate)
    # The invalid item of the batch request never reaches the service; everything else does.
    assert len(batch) == len(EVENT_REQUESTS) - 1 + 2
    taken: set[int] = set()
    # Each request where its first event is in the batch (v1 comes with b1, in the batch request).
    order = [_event_request_of(event.event_id, taken) for event in batch if event.event_id != "v1"]
    _assert_sequential_answers(twin, twin_token, first, EVENT_REQUESTS, order, answers)
    statuses = [status for status, _ in answers]
    assert statuses == [200, 200, 404, 409, 200, 409, 422, 200, 200]
    batched = json.loads(answers[7][1])
    assert [r["status"] for r in batched["results"]] == [200, 422, 200]
    assert answers[4] == answers[0]


def test_a_batch_that_fails_as_a_whole_is_committed_request_by_request(
        services: Services, app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database refusing a batch (here once, as a lock timeout would) is no request's
    fault: each is then committed alone, and each gets its own answer."""
    token = _open_ledger(services)
    gate = Gate(monkeypatch, services.ledger, "execute")
    held = services.ledger.execute
    refused: list[int] = []

    def refuse_the_first_group(program_id: str, operations: Any, **kwargs: Any) -> Any:
        if len(operations) > 1 and not refused:
            refused.append(len(operations))
            raise sqlite3.OperationalError("database is locked")
        return held(program_id, operations, **kwargs)

    monkeypatch.setattr(services.ledger, "execute", refuse_the_first_group)
    requests: list[Request] = [(_member(m, "earn"), f"earn-{m}", {"points": 10}) for m in OPENING]
    answers = _concurrently(app, token, gate, (_member("m4", "earn"), "first", {"points": 1}), requests)
    assert refused == [len(requests)]
    assert [len(call) for call in gate.calls] == [1] * (1 + len(requests))  # the first, then each alone
    assert [status for status, _ in answers] == [200] * len(requests)
    assert [json.loads(body)["balance"]["available"] for _, body in answers] == [
        points + 10 + (1 + 5 if m == "m4" else 0) for m, points in OPENING.items()]
