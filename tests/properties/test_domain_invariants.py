"""The ledger's invariants on `MemberLedger` itself: pure, so many examples are cheap."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings

from dangol.domain import Program, ProgramPolicy
from dangol.domain.errors import DomainError
from domain.support import T0

from .invariants import assert_invariants, snapshot_from_ledgers
from .model import DomainModel
from .operations import MEMBERS, World, command_for, long_sequences, policies, sequences


def run(policy: ProgramPolicy, steps: list[tuple], restore_on_error: bool) -> None:
    program = Program("prop", "Property", "KRW", policy)
    model = DomainModel(program, [f"m{i}" for i in range(MEMBERS)])
    now = T0
    world = World(list(model.ledgers), spendable=lambda member_id: model.ledgers[member_id].spendable(now))
    for step in steps:
        if step[0] == "advance":
            now += timedelta(seconds=step[1])
            continue
        if step[0] == "expire":
            model.settle_all(now)
        else:
            command = command_for(step, world, now)
            saved = model.save_point() if restore_on_error else None
            try:
                hold_id = model.apply(command, now)
            except DomainError:
                if saved is not None:
                    model.restore(saved)
            else:
                world.succeeded(command, hold_id)
        assert_invariants(snapshot_from_ledgers(model.ledgers.values()))
    model.settle_all(now)
    assert_invariants(snapshot_from_ledgers(model.ledgers.values()))


@settings(max_examples=1_000, deadline=None)
@given(policy=policies, steps=sequences)
def test_invariants_hold_after_every_operation(policy: ProgramPolicy, steps: list[tuple]) -> None:
    # A failed operation is not rolled back here: whatever it did before failing (settling
    # what was due) must itself leave the books balanced.
    run(policy, steps, restore_on_error=False)


@settings(max_examples=100, deadline=None)
@given(policy=policies, steps=long_sequences)
def test_invariants_hold_over_long_histories(policy: ProgramPolicy, steps: list[tuple]) -> None:
    # As the service does: a failed operation leaves the ledgers exactly as they were.
    run(policy, steps, restore_on_error=True)
