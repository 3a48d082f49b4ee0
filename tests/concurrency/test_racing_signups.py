"""A signup event whose customer another request enrols while it is being judged
(PostgreSQL, where transactions interleave; SQLite writes one at a time): the event looked
for the customer, found nobody, and by the time it enrols them they are enrolled. A copy of
the original (same event id, same body) gets the original's answer; another signup of the
same customer is judged as a second signup (no welcome points twice), as when sent after it.
Never "already enrolled", which no signup answers when sent on its own."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.service.events import EventInput

from .racing import paused

pytestmark = pytest.mark.timeout(120)

# Welcome points only: no budget, whose lock every event of the program would take first.
WELCOME = json.dumps({"program": "market", "version": "welcome", "currency": "KRW",
                      "effective_from": "2025-01-01T00:00:00+00:00", "rules": [
                          {"id": "welcome", "on": "signup", "actions": [{"award_points": {"fixed": 1000}}]}]})
BY_REF = "members.external_ref IN"  # the look for the customer by their reference
BY_EVENT_ID = "FROM events WHERE"  # the one look for the event's id, once its members are locked


@pytest.fixture
def market(shared_on_postgres: Services, clock: FixedClock) -> Services:
    shared_on_postgres.rulesets.publish("market", WELCOME, effective_from=clock.now())
    return shared_on_postgres


def enrolled_while_judged(services: Services, late: EventInput, original: EventInput,
                          look: str, looks: int = 1) -> tuple[Any, Any]:
    """`late` runs until it has looked `looks` times (statements containing `look`) and
    found nobody, then waits while `original` is recorded and committed, then goes on.
    Returns (original's, late's) answer."""
    seen = 0

    def after_the_looks(statement: str) -> bool:
        nonlocal seen
        if seen == looks:  # the statement after the look, whatever it is
            return True
        seen += look in statement
        return False

    return paused(services, lambda: services.events.record("market", late), after_the_looks,
                  lambda: services.events.record("market", original))


@pytest.mark.parametrize("signup, look, looks", [
    (EventInput("signup-dora", "signup", external_ref="dora"), BY_REF, 1),
    (EventInput("signup-dora", "signup", member_id="m_dora", external_ref="dora"), BY_EVENT_ID, 1),
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
