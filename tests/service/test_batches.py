"""Batches: one transaction for many operations; a failing operation is reported in its
place and leaves no trace, while the others apply."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dangol.domain import FixedClock
from dangol.domain.commands import Earn, Enroll, Redeem, Transfer
from dangol.domain.errors import DomainError, InsufficientPoints, UnknownMember
from dangol.service.container import Services
from dangol.service.ledger import Operation


def test_a_failure_in_the_middle_is_reported_in_place_and_leaves_no_partial_effect(
        services: Services, clock: FixedClock, program_id: str, enroll: Callable[..., str]) -> None:
    alice, bob = enroll("alice"), enroll("bob")
    services.ledger.run(program_id, Earn(alice, points=1_500))
    clock.advance(days=366)  # alice's 1,500 points have expired; nothing has written that down yet
    services.ledger.run(program_id, Earn(bob, points=300))
    outcomes = services.ledger.execute(program_id, [
        Operation(Earn(bob, points=700), "b-1"),
        # Redeeming first settles alice's ledger (expiring her 1,500 points), then fails:
        # neither the expiry nor anything else of it may survive.
        Operation(Redeem(alice, 1_000), "a-1"),
        Operation(Earn(alice, points=200), "a-2"),
        Operation(Redeem(bob, 1_000), "b-2"),
    ])
    assert [type(o).__name__ for o in outcomes] == ["dict", "InsufficientPoints", "dict", "dict"]
    failure = outcomes[1]
    assert isinstance(failure, InsufficientPoints) and failure.context == {"requested": 1_000, "available": 0}
    alice_history = services.reader.history(program_id, alice).items
    assert [item["kind"] for item in alice_history] == ["earn", "earn"]  # no expiry, no redemption
    assert services.reader.balance(program_id, alice)["available"] == 200
    assert services.reader.balance(program_id, bob)["available"] == 0
    # bob's redemption came after the failure and saw bob's earn from before it
    assert outcomes[3]["balance"]["available"] == 0  # type: ignore[index]
    assert services.check.run().ok
    # The failed operation's key was not used up.
    services.ledger.run(program_id, Earn(alice, points=1_000))
    assert services.ledger.run(program_id, Redeem(alice, 1_000), idempotency_key="a-1")["transaction"]["points"] == 1_000


def test_every_operation_of_a_batch_can_fail_independently(
        services: Services, program_id: str, enroll: Callable[..., str]) -> None:
    alice = enroll("alice")
    outcomes = services.ledger.execute(program_id, [
        Operation(Redeem(alice, 1_000)),
        Operation(Earn("m_nobody", points=10)),
        Operation(Earn(alice, points=0)),
    ])
    assert [o.code for o in outcomes if isinstance(o, DomainError)] == [  # type: ignore[union-attr]
        "insufficient-points", "unknown-member", "validation-error"]
    assert services.reader.history(program_id, alice).items == []


def test_a_batch_can_enrol_members_and_act_on_them(services: Services, program_id: str) -> None:
    outcomes = services.ledger.execute(program_id, [
        Operation(Enroll("carol", member_id="m_carol")),
        Operation(Enroll("dave", member_id="m_dave")),
        Operation(Earn("m_carol", points=2_000)),
        Operation(Redeem("m_carol", 1_000)),
        Operation(Enroll("carol")),                              # the same customer twice: a conflict
    ])
    assert [o.code for o in outcomes if isinstance(o, DomainError)] == ["conflict"]  # type: ignore[union-attr]
    assert services.reader.balance(program_id, "m_carol")["available"] == 1_000
    assert services.reader.member_by_ref(program_id, "dave")["id"] == "m_dave"
    assert services.check.run().ok


def test_run_raises_the_error_and_writes_nothing(services: Services, program_id: str,
                                                 enroll: Callable[..., str]) -> None:
    alice = enroll("alice")
    with pytest.raises(UnknownMember):
        services.ledger.run(program_id, Transfer(alice, "m_nobody", 10))
    assert services.reader.history(program_id, alice).items == []


def test_an_enrolment_cannot_take_a_member_id_in_use_in_any_program(
        services: Services, program_id: str) -> None:
    services.programs.create_program("other", "Another brand", "KRW")
    services.ledger.run("other", Enroll("someone", member_id="m_shared"))
    outcomes = services.ledger.execute(program_id, [
        Operation(Enroll("c-1", member_id="m_shared")),   # taken in the other program
        Operation(Enroll("c-2", member_id="m_fresh")),
        Operation(Enroll("c-3", member_id="m_fresh")),    # taken earlier in this batch
        Operation(Enroll("c-4", member_id="m_fourth")),
    ])
    assert [type(o).__name__ for o in outcomes] == ["Conflict", "dict", "Conflict", "dict"]
    assert [o.context for o in outcomes if isinstance(o, DomainError)] == [
        {"member_id": "m_shared"}, {"member_id": "m_fresh"}]
    assert services.reader.member_by_ref(program_id, "c-2")["id"] == "m_fresh"
    assert services.reader.member_by_ref("other", "someone")["id"] == "m_shared"
