"""Idempotency keys: a retry gets the original receipt and writes nothing; a key reused
for another request is refused; keys belong to one program."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dangol.domain import Money, ProgramPolicy
from dangol.domain.commands import Earn, Redeem
from dangol.domain.errors import IdempotencyConflict, InsufficientPoints, InvalidRequest
from dangol.service.container import Services
from dangol.service.ledger import Operation
from properties.invariants import stored_rows


def test_the_same_key_and_command_return_the_same_receipt_and_write_nothing(
        services: Services, program_id: str, enroll: Callable[..., str]) -> None:
    member = enroll("alice")
    earn = Earn(member, money=Money(20_000, "KRW"), order_ref="order-1")
    first = services.ledger.run(program_id, earn, idempotency_key="pos-7/order-1")
    assert first["points"] == 1_000 and first["balance"]["available"] == 1_000
    with services.db.read() as conn:
        before = stored_rows(conn, program_id)
    # A retry a day later, after the lots could have changed, still gets the original receipt.
    services.clock.advance(days=1)  # type: ignore[attr-defined]
    again = services.ledger.run(program_id, earn, idempotency_key="pos-7/order-1")
    assert again == first
    with services.db.read() as conn:
        assert stored_rows(conn, program_id) == before
    assert services.reader.balance(program_id, member)["available"] == 1_000


def test_the_same_key_with_another_command_is_a_conflict(
        services: Services, program_id: str, enroll: Callable[..., str]) -> None:
    member = enroll("alice")
    services.ledger.run(program_id, Earn(member, points=5_000), idempotency_key="k1")
    with services.db.read() as conn:
        before = stored_rows(conn, program_id)
    with pytest.raises(IdempotencyConflict) as refused:
        services.ledger.run(program_id, Earn(member, points=5_001), idempotency_key="k1")
    assert refused.value.code == "idempotency-conflict"
    with pytest.raises(IdempotencyConflict):
        services.ledger.run(program_id, Redeem(member, 1_000), idempotency_key="k1")
    with services.db.read() as conn:
        assert stored_rows(conn, program_id) == before


def test_a_failed_operation_does_not_use_up_its_key(
        services: Services, program_id: str, enroll: Callable[..., str]) -> None:
    member = enroll("alice")
    with pytest.raises(InsufficientPoints):
        services.ledger.run(program_id, Redeem(member, 1_000), idempotency_key="redeem-1")
    services.ledger.run(program_id, Earn(member, points=1_000))
    receipt = services.ledger.run(program_id, Redeem(member, 1_000), idempotency_key="redeem-1")
    assert receipt["balance"]["available"] == 0


def test_a_duplicate_key_inside_one_batch(services: Services, program_id: str, enroll: Callable[..., str]) -> None:
    member = enroll("alice")
    earn = Earn(member, points=700)
    outcomes = services.ledger.execute(program_id, [
        Operation(earn, "e1"), Operation(earn, "e1"),                 # the same request sent twice
        Operation(Earn(member, points=800), "e1"),                    # the key reused for another one
        Operation(Earn(member, points=300), "e2"),
    ])
    assert outcomes[0] == outcomes[1]
    assert isinstance(outcomes[2], IdempotencyConflict)
    assert outcomes[3]["balance"]["available"] == 1_000  # type: ignore[index]
    assert services.reader.balance(program_id, member)["available"] == 1_000
    history = services.reader.history(program_id, member).items
    assert [item["points"] for item in history if item["kind"] == "earn"] == [300, 700]


def test_keys_belong_to_one_program(services: Services, program_id: str, enroll: Callable[..., str]) -> None:
    services.programs.create_program("other", "Other brand", "KRW", ProgramPolicy())
    alice, bob = enroll("alice"), enroll("bob", "other")
    services.ledger.run(program_id, Earn(alice, points=100), idempotency_key="shared")
    receipt = services.ledger.run("other", Earn(bob, points=200), idempotency_key="shared")
    assert receipt["points"] == 200
    assert services.reader.balance("other", bob)["available"] == 200


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "new\nline"])
def test_malformed_keys_are_refused(services: Services, program_id: str, enroll: Callable[..., str],
                                    key: str) -> None:
    member = enroll("alice")
    with pytest.raises(InvalidRequest):
        services.ledger.run(program_id, Earn(member, points=100), idempotency_key=key)
    assert services.reader.balance(program_id, member)["available"] == 0
