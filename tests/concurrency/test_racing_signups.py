"""A signup event whose customer another request enrols while it is being judged
(PostgreSQL, where transactions interleave; SQLite writes one at a time): the event looked
for the customer, found nobody, and by the time it enrols them they are enrolled. A copy of
the original (same event id, same body) gets the original's answer; another signup of the
same customer is judged as a second signup (no welcome points twice), as when sent after it.
Never "already enrolled", which no signup answers when sent on its own."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, event

from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.service.events import EventInput

from .conftest import POLICY

pytestmark = pytest.mark.timeout(120)

# Welcome points only: no budget, whose lock every event of the program would take first.
WELCOME = json.dumps({"program": "market", "version": "welcome", "currency": "KRW",
                      "effective_from": "2025-01-01T00:00:00+00:00", "rules": [
                          {"id": "welcome", "on": "signup", "actions": [{"award_points": {"fixed": 1000}}]}]})
BY_REF = "members.external_ref IN"  # the look for the customer by their reference
BY_EVENT_ID = "FROM events WHERE"  # the looks for the event's id, the second once its members are locked


@pytest.fixture
def market(postgres_url: str, clock: FixedClock) -> Iterator[Services]:
    services = Services.open(postgres_url, clock, migrate=False)
    services.programs.create_program("market", "Talent market", "KRW", POLICY)
    services.rulesets.publish("market", WELCOME, effective_from=clock.now())
    yield services
    services.db.dispose()


def enrolled_while_judged(services: Services, late: EventInput, original: EventInput,
                          look: str, looks: int = 1) -> tuple[Any, Any]:
    """`late` runs until it has looked `looks` times (statements containing `look`) and
    found nobody, then waits while `original` is recorded and committed, then goes on.
    Returns (original's, late's) answer."""
    looked, committed = threading.Event(), threading.Event()
    seen = 0
    answers: list[Any] = [None, None]

    def pause_after_the_look(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
                             executemany: bool) -> None:
        nonlocal seen
        if threading.current_thread() is not worker or looked.is_set():
            return
        if seen == looks:  # the statement after the look, whatever it is
            looked.set()
            committed.wait(30)
        seen += look in " ".join(statement.split())

    def record_late() -> None:
        try:
            answers[1] = services.events.record("market", late)
        except Exception as error:  # noqa: BLE001 - the test asserts on it
            answers[1] = error

    worker = threading.Thread(target=record_late)
    event.listen(services.db.engine, "before_cursor_execute", pause_after_the_look)
    try:
        worker.start()
        assert looked.wait(30), "the late signup never looked for its customer"
        answers[0] = services.events.record("market", original)
        committed.set()
        worker.join(60)
    finally:
        committed.set()
        event.remove(services.db.engine, "before_cursor_execute", pause_after_the_look)
    return answers[0], answers[1]


@pytest.mark.parametrize("signup, look, looks", [
    (EventInput("signup-dora", "signup", external_ref="dora"), BY_REF, 1),
    (EventInput("signup-dora", "signup", member_id="m_dora", external_ref="dora"), BY_EVENT_ID, 2),
], ids=["by reference", "with a member id"])
def test_a_copy_of_a_signup_enrolling_its_customer_gets_its_answer(market: Services, signup: EventInput,
                                                                    look: str, looks: int) -> None:
    original, copy = enrolled_while_judged(market, signup, signup, look, looks)
    assert isinstance(original, dict) and original["total_points"] == 1_000
    assert copy == original
    assert market.reader.balance("market", original["member_id"])["available"] == 1_000


def test_another_signup_of_a_customer_being_enrolled_is_a_second_signup(market: Services) -> None:
    original, second = enrolled_while_judged(market, EventInput("signup-dora-app", "signup", external_ref="dora"),
                                             EventInput("signup-dora-web", "signup", external_ref="dora"), BY_REF)
    assert isinstance(original, dict) and original["total_points"] == 1_000
    assert isinstance(second, dict), second
    assert (second["member_id"], second["total_points"]) == (original["member_id"], 0)
    assert [w["reason"] for w in second["withheld"]] == ["signup already recorded: the welcome bonus is once ever"]
    assert market.reader.balance("market", original["member_id"])["available"] == 1_000
