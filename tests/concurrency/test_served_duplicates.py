"""Duplicates over HTTP, sent at once to real server processes, as a till retrying after a
timeout sends them: every copy of a request gets the same status and the same bytes as the
one that was applied (or the documented 409 `conflict` with Retry-After), never a refusal
computed against what the original left ("insufficient points", "already fully refunded",
"hold not active").

PostgreSQL is served by `dangol serve --workers 2`, SQLite by one `dangol serve`. The test
holds the members' rows (PostgreSQL) or the write lock (SQLite) while the requests arrive,
as a slow original holds them, so that every copy is in flight at once; then lets go."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from dangol.domain import Money
from dangol.domain.commands import Earn, PlaceHold
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.service.programs import Scope
from dangol.storage import tables as t

from cli.helpers import served

from .conftest import POLICY, to_serve
from .test_concurrent_writes import member_with

pytestmark = pytest.mark.timeout(180)

GROUPS = 4  # requests of each kind
COPIES = 2  # each sent this many times at once, under one key (or event id)
IN_FLIGHT_WAIT = 20.0
MARKET = (resources.files("dangol.rules") / "examples" / "market.yaml").read_text(encoding="utf-8")


@dataclass(frozen=True, eq=False)  # its copies are the same object
class Call:
    kind: str
    path: str
    body: dict[str, Any]
    key: str | None  # None: an event, idempotent by its event_id


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    retry_after: str | None


def prepare(services: Services) -> tuple[list[Call], dict[str, list[str]]]:
    """The program, its ruleset, and for each kind of request, members ready for it."""
    services.programs.create_program("market", "Talent market", "KRW", POLICY)
    services.rulesets.publish("market", MARKET, effective_from=services.clock.now())
    api = "/v1/programs/market"
    calls: list[Call] = []
    members: dict[str, list[str]] = defaultdict(list)
    for n in range(GROUPS):
        redeemer = member_with(services, 1_500, f"redeemer-{n}")  # one redemption of 1,000, not two
        calls.append(Call("redemption", f"{api}/members/{redeemer}/redeem", {"points": 1_000}, f"till-{n}/redeem"))
        refunded = member_with(services, 0, f"refunded-{n}")
        services.ledger.run("market", Earn(refunded, money=Money(20_000, "KRW"), order_ref=f"order-{n}"))
        calls.append(Call("refund", f"{api}/members/{refunded}/reversals", {"order_ref": f"order-{n}"},
                          f"till-{n}/refund"))
        holder = member_with(services, 2_000, f"holder-{n}")
        hold = services.ledger.run("market", PlaceHold(holder, 1_500))["hold"]["id"]
        calls.append(Call("capture", f"{api}/holds/{hold}/capture", {"points": 1_200}, f"till-{n}/capture"))
        buyer = member_with(services, 0, f"buyer-{n}")
        services.events.record("market", EventInput(f"buy-{n}", "purchase", buyer, amount=Money(30_000, "KRW"),
                                                    order_id=f"shop-{n}"))
        calls.append(Call("refund event", f"{api}/events",
                          {"event_id": f"return-{n}", "type": "refund", "member_id": buyer, "order_id": f"shop-{n}"},
                          None))
        for kind, member in (("redemption", redeemer), ("refund", refunded), ("capture", holder),
                             ("refund event", buyer)):
            members[kind].append(member)
    return calls, members


def send_all_at_once(base: str, token: str, calls: list[Call], services: Services) -> list[tuple[Call, Answer]]:
    """Every call, COPIES times, from threads released together, while the members are held."""
    copies = [call for call in calls for _ in range(COPIES)]
    answers: list[Answer | BaseException | None] = [None] * len(copies)
    start = threading.Barrier(len(copies) + 1)
    with httpx.Client(base_url=base, timeout=90, limits=httpx.Limits(max_connections=len(copies))) as client:

        def send(index: int) -> None:
            call = copies[index]
            headers = {"Authorization": f"Bearer {token}", **({"Idempotency-Key": call.key} if call.key else {})}
            start.wait()
            try:
                response = client.post(call.path, json=call.body, headers=headers)
                answers[index] = Answer(response.status_code, response.content, response.headers.get("retry-after"))
            except BaseException as error:  # noqa: BLE001 - reported by the test
                answers[index] = error

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(copies))]
        with services.db.write() as conn:  # the write lock on SQLite
            if not services.db.is_sqlite:
                conn.execute(select(t.members.c.id).with_for_update())  # every member's row
            for thread in threads:
                thread.start()
            start.wait()
            wait_until_in_flight(services, len(copies))
        for thread in threads:
            thread.join(120)
    assert all(isinstance(a, Answer) for a in answers), answers
    return list(zip(copies, answers))  # type: ignore[arg-type]


def wait_until_in_flight(services: Services, requests: int) -> None:
    """Until every request waits on a held row (PostgreSQL: as many as keep coming, at most
    IN_FLIGHT_WAIT seconds), or a moment (SQLite: they queue for its one writer)."""
    if services.db.is_sqlite:
        time.sleep(2)
        return
    deadline, waiting, steady_since = time.monotonic() + IN_FLIGHT_WAIT, -1, time.monotonic()
    while time.monotonic() < deadline:
        with services.db.engine.connect() as conn:
            now_waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                "AND query ILIKE '%FROM members%FOR UPDATE%'")).scalar_one()
        if now_waiting >= requests:
            return
        if now_waiting != waiting:
            waiting, steady_since = now_waiting, time.monotonic()
        elif waiting > 0 and time.monotonic() - steady_since > 3:
            return  # the rest wait for a connection of their worker's pool
        time.sleep(0.1)


def is_in_flight_conflict(answer: Answer) -> bool:
    return answer.status == 409 and answer.retry_after is not None and b"/problems/conflict" in answer.body


def assert_every_copy_answered_alike(answered: list[tuple[Call, Answer]]) -> None:
    by_call: dict[Call, list[Answer]] = defaultdict(list)
    for call, answer in answered:
        by_call[call].append(answer)
    differing = {}
    for call, answers in by_call.items():
        applied = {(a.status, a.body) for a in answers if not is_in_flight_conflict(a)}
        if len(applied) != 1 or not 200 <= next(iter(applied))[0] < 300:
            differing[f"{call.kind} {call.path} {call.key or call.body['event_id']}"] = sorted((status, body[:160]) for status, body in applied)
    assert not differing, f"{len(differing)} of {len(by_call)} requests answered differently: {differing}"


def assert_applied_once(services: Services, members: dict[str, list[str]]) -> None:
    balance = {kind: [services.reader.balance("market", m) for m in ids] for kind, ids in members.items()}
    assert [b["available"] for b in balance["redemption"]] == [500] * GROUPS
    assert [b["available"] for b in balance["refund"]] == [0] * GROUPS
    assert [(b["available"], b["held"]) for b in balance["capture"]] == [(800, 0)] * GROUPS
    report = services.check.run()
    assert report.ok, report.mismatches


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_duplicates_sent_at_once_get_the_originals_answer(backend: str, request: pytest.FixtureRequest,
                                                          tmp_path: Path) -> None:
    url, options, processes = to_serve(backend, request, tmp_path, workers=2)
    services = Services.open(url, migrate=False)
    try:
        calls, members = prepare(services)
        token = services.programs.create_api_key("market", {Scope.READ, Scope.WRITE}, "till")[1]
        with served(url, tmp_path / "serve.log", *options, processes=processes) as server:
            answered = send_all_at_once(server.url, token, calls, services)
        assert server.output().count("Started server process") == processes
        assert_every_copy_answered_alike(answered)
        assert_applied_once(services, members)
    finally:
        services.db.dispose()
