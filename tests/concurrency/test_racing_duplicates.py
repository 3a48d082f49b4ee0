"""A duplicate (same idempotency key, or event id, and the same request) that arrives while
its original is still in flight gets the original's answer, on both engines: not a refusal
computed against the state the original left behind ("insufficient points", "already fully
refunded", "hold not active"), nor a database error. See racing.py for how they race."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from importlib import resources
from typing import Any

import pytest

from dangol.domain import FixedClock, Money
from dangol.domain.commands import CaptureHold, Earn, Enroll, PlaceHold, Redeem, Reverse, VoidHold
from dangol.service.container import Services
from dangol.service.events import EventInput

from .conftest import POLICY
from .racing import DUPLICATES, race
from .test_concurrent_writes import member_with

pytestmark = pytest.mark.timeout(120)

MARKET = (resources.files("dangol.rules") / "examples" / "market.yaml").read_text(encoding="utf-8")


def assert_all_the_original(results: list[Any]) -> None:
    assert isinstance(results[0], dict), results[0]
    assert [r if isinstance(r, dict) else repr(r) for r in results[1:]] == [results[0]] * DUPLICATES


# ---------------------------------------------------------------- what races

def redemption(services: Services, clock: FixedClock) -> Callable[[], Any]:
    member = member_with(services, 1_500)  # enough for one redemption of 1,000, not two
    return lambda: services.ledger.run("market", Redeem(member, 1_000), idempotency_key="till-1/sale-9")


def refund(services: Services, clock: FixedClock) -> Callable[[], Any]:
    member = member_with(services, 0)
    services.ledger.run("market", Earn(member, money=Money(20_000, "KRW"), order_ref="o-1"))
    return lambda: services.ledger.run("market", Reverse(member, "o-1"), idempotency_key="till-1/refund-1")


def capture(services: Services, clock: FixedClock) -> Callable[[], Any]:
    member = member_with(services, 2_000)
    hold = services.ledger.run("market", PlaceHold(member, 1_500))["hold"]["id"]
    return lambda: services.ledger.run("market", CaptureHold(hold, 1_200), idempotency_key="till-1/capture")


def void(services: Services, clock: FixedClock) -> Callable[[], Any]:
    member = member_with(services, 2_000)
    hold = services.ledger.run("market", PlaceHold(member, 1_500))["hold"]["id"]
    return lambda: services.ledger.run("market", VoidHold(hold), idempotency_key="till-1/void")


def enrolment(services: Services, clock: FixedClock) -> Callable[[], Any]:
    return lambda: services.ledger.run("market", Enroll("carol"), idempotency_key="signup-carol")


def refund_event(services: Services, clock: FixedClock) -> Callable[[], Any]:
    services.rulesets.publish("market", MARKET, effective_from=clock.now())
    member = member_with(services, 0)
    at = clock.now()
    services.events.record("market", EventInput("e-1", "purchase", member, occurred_at=at,
                                                amount=Money(30_000, "KRW"), order_id="o-1"))
    refund = EventInput("e-2", "refund", member, occurred_at=at, order_id="o-1")
    return lambda: services.events.record("market", refund)


def program_creation(services: Services, clock: FixedClock) -> Callable[[], Any]:
    return lambda: services.programs.create_program("cafe", "Cafe", "KRW", POLICY, idempotency_key="new-cafe")


def profile_change(services: Services, clock: FixedClock) -> Callable[[], Any]:
    member = member_with(services, 0)
    return lambda: services.profiles.update("market", member, {"time_zone": "Asia/Seoul"}, "profile-1")


def referral_code(services: Services, clock: FixedClock) -> Callable[[], Any]:
    """A member's first asks for their code (`GET …/referral-code`): one code, made once."""
    member = member_with(services, 0)
    return lambda: services.referrals.code_for("market", member)


def ruleset_publication(services: Services, clock: FixedClock) -> Callable[[], Any]:
    at = clock.now() + timedelta(days=1)
    return lambda: services.rulesets.publish("market", MARKET, effective_from=at, idempotency_key="rules-1")


@pytest.mark.parametrize("setup", [redemption, refund, capture, void, enrolment, refund_event, program_creation,
                                   profile_change, referral_code, ruleset_publication], ids=lambda f: f.__name__)
def test_a_duplicate_of_a_write_in_flight_gets_its_answer(shared: Services, clock: FixedClock,
                                                          setup: Callable[[Services, FixedClock], Callable[[], Any]],
                                                          ) -> None:
    assert_all_the_original(race(shared, setup(shared, clock)))


def test_the_duplicates_of_a_redemption_redeem_once(shared: Services, clock: FixedClock) -> None:
    member = member_with(shared, 3_000)  # enough for three redemptions: a duplicate could spend again
    results = race(shared, lambda: shared.ledger.run("market", Redeem(member, 1_000), idempotency_key="till-2/sale-1"))
    assert_all_the_original(results)
    assert results[0]["balance"]["available"] == 2_000
    assert shared.reader.balance("market", member)["available"] == 2_000


def test_a_refund_event_racing_a_duplicate_refunds_once(shared: Services, clock: FixedClock) -> None:
    call = refund_event(shared, clock)
    results = race(shared, call)
    assert_all_the_original(results)
    assert results[0]["reversal"]["refund"]["full"] is True
    assert shared.reader.balance("market", results[0]["member_id"])["available"] == results[0]["balance"]["available"]
