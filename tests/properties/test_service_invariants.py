"""The ledger's invariants through the service, on SQLite and PostgreSQL: random
sequences of operations, then every invariant checked from what the database holds.

Beside the database runs the same sequence on `MemberLedger`s in memory (a failed
operation restored there as the service rolls it back): both must accept and refuse
the same operations with the same error and end with the same balances, so the
storage layer neither loses nor invents anything the domain decided. And `replay --check`
makes the same ledger again from the requests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings

from dangol.domain import FixedClock, Program, ProgramPolicy
from dangol.domain import commands as cmd
from dangol.domain.errors import DomainError
from dangol.service.container import Services
from dangol.service.ledger import Operation
from dangol.service.replay import ReplayCheck
from domain.support import T0

from .invariants import assert_invariants, row_counts, snapshot_from_db, stored_rows
from .model import DomainModel
from .operations import MEMBERS, World, command_for, long_sequences, policies, sequences

DB_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@dataclass
class ServiceRun:
    """One example: a fresh program, its members, and what every operation returned."""

    services: Services
    clock: FixedClock
    policy: ProgramPolicy
    program_id: str = field(default_factory=lambda: f"p-{uuid.uuid4().hex[:16]}")
    accepted: list[tuple[Any, str, dict[str, Any]]] = field(default_factory=list)  # command, key, receipt
    attempted: list[tuple[Any, datetime, dict[str, Any] | str]] = field(default_factory=list)  # receipt or error code

    def __post_init__(self) -> None:
        self.clock.set(T0)
        self.services.programs.create_program(self.program_id, "Property", "KRW", self.policy)
        members = [self.run(cmd.Enroll(f"customer-{i}"))["member"]["id"] for i in range(MEMBERS)]
        self.members = members
        self.model = DomainModel(Program(self.program_id, "Property", "KRW", self.policy), members)
        self.world = World(members, spendable=lambda m: self.model.ledgers[m].spendable(self.clock.now()))
        self.model_holds: dict[int, int] = {}  # hold id in the database -> in the model

    def run(self, command: Any) -> dict[str, Any]:
        key = f"op-{len(self.accepted)}-{uuid.uuid4().hex[:8]}"
        receipt = self.services.ledger.run(self.program_id, command, idempotency_key=key)
        self.accepted.append((command, key, receipt))
        return receipt

    def step(self, step: tuple) -> None:
        now = self.clock.now()
        if step[0] == "advance":
            self.clock.advance(seconds=step[1])
            return
        if step[0] == "expire":
            self.services.expiry.run(self.program_id)
            self.model.settle_all(now)
            return
        command = command_for(step, self.world, now)
        model_error, model_hold = self._apply_to_model(command, now)
        with self.services.db.read() as conn:
            before = stored_rows(conn, self.program_id)
        try:
            receipt = self.run(command)
        except DomainError as error:
            self.attempted.append((command, now, error.code))
            with self.services.db.read() as conn:
                assert stored_rows(conn, self.program_id) == before, f"failed {command!r} left a trace"
            assert model_error is not None and error.code == model_error.code, \
                f"{command!r}: service refused with {error.code}, domain said {model_error and model_error.code}"
            return
        self.attempted.append((command, now, receipt))
        assert model_error is None, f"{command!r}: service accepted, domain refused with {model_error.code}"
        hold_id = receipt["hold"]["id"] if isinstance(command, cmd.PlaceHold) else None
        if hold_id is not None:
            self.model_holds[hold_id] = model_hold  # type: ignore[assignment]
        self.world.succeeded(command, hold_id)

    def _apply_to_model(self, command: Any, now: datetime) -> tuple[DomainError | None, int | None]:
        if isinstance(command, (cmd.CaptureHold, cmd.VoidHold)):
            command = replace(command, hold_id=self.model_holds.get(command.hold_id, -1))
        saved = self.model.save_point()
        try:
            return None, self.model.apply(command, now)
        except DomainError as error:
            self.model.restore(saved)
            return error, None

    def check(self) -> None:
        with self.services.db.read() as conn:
            snapshot = snapshot_from_db(conn, self.program_id)
        assert_invariants(snapshot)
        for member_id, ledger in self.model.ledgers.items():
            b = ledger.balances
            assert snapshot.cached[member_id] == (b.available, b.pending, b.held, b.debt), f"member {member_id}"
        report = self.services.check.run()
        assert report.ok, report.mismatches


@DB_SETTINGS
@given(policy=policies, steps=sequences)
def test_invariants_hold_in_the_database(services: Services, clock: FixedClock, policy: ProgramPolicy,
                                         steps: list[tuple]) -> None:
    run = ServiceRun(services, clock, policy)
    for step in steps:
        run.step(step)
    run.check()
    # Whatever is due by now, the expiry job writes down; the books stay balanced.
    services.expiry.run(run.program_id)
    run.model.settle_all(clock.now())
    run.check()


@settings(DB_SETTINGS, max_examples=15)
@given(policy=policies, steps=sequences)
def test_replaying_with_the_same_keys_changes_nothing(services: Services, clock: FixedClock,
                                                      policy: ProgramPolicy, steps: list[tuple]) -> None:
    run = ServiceRun(services, clock, policy)
    for step in steps:
        run.step(step)
    with services.db.read() as conn:
        counts = row_counts(conn, run.program_id)
    clock.advance(days=1)  # a retry comes later; it must not settle or re-apply anything
    for command, key, receipt in run.accepted:
        assert services.ledger.run(run.program_id, command, idempotency_key=key) == receipt
    outcomes = services.ledger.execute(run.program_id, [Operation(c, k) for c, k, _ in run.accepted])
    assert outcomes == [receipt for _, _, receipt in run.accepted]
    with services.db.read() as conn:
        assert row_counts(conn, run.program_id) == counts
    run.check()


# Hold ids are only known once a batch has run, so captures and voids cannot be sent in
# the same batch as their hold; and the expiry job is not a command.
_batchable = sequences.map(lambda steps: [s for s in steps if s[0] not in ("capture", "void", "expire")])


@settings(DB_SETTINGS, max_examples=15)
@given(policy=policies, steps=_batchable)
def test_one_batch_does_what_the_same_operations_do_one_by_one(services: Services, clock: FixedClock,
                                                               policy: ProgramPolicy, steps: list[tuple]) -> None:
    # An import sends history in large batches, each operation with the time it happened.
    single = ServiceRun(services, clock, policy)
    for step in steps:
        single.step(step)
    program_id = f"p-{uuid.uuid4().hex[:16]}"
    services.programs.create_program(program_id, "Batched", "KRW", policy)
    same = {m: f"{program_id}-{i}" for i, m in enumerate(single.members)}
    enrolments = [Operation(cmd.Enroll(f"customer-{i}", member_id=same[m]), at=T0)
                  for i, m in enumerate(single.members)]
    history = [Operation(_renamed(command, same), at=at) for command, at, _ in single.attempted]
    outcomes = services.ledger.execute(program_id, enrolments + history)[len(enrolments):]
    for (command, _, expected), outcome in zip(single.attempted, outcomes):
        if isinstance(expected, str):
            assert isinstance(outcome, DomainError) and outcome.code == expected, (command, outcome)
        else:
            assert not isinstance(outcome, DomainError), (command, outcome)
            assert outcome.get("balance") == expected.get("balance"), command
    for member in single.members:
        assert services.reader.balance(program_id, same[member]) == {
            **services.reader.balance(single.program_id, member), "member_id": same[member]}
    with services.db.read() as conn:
        assert_invariants(snapshot_from_db(conn, program_id))
    assert services.check.run().ok


def _renamed(command: Any, names: dict[str, str]) -> Any:
    changes = {f: names[getattr(command, f)] for f in ("member_id", "to_member_id") if hasattr(command, f)}
    return replace(command, **changes)


@settings(DB_SETTINGS, max_examples=15)
@given(policy=policies, steps=long_sequences)
def test_a_ledger_of_any_requests_replays_clean(services: Services, clock: FixedClock, policy: ProgramPolicy,
                                               steps: list[tuple]) -> None:
    """Whatever the requests, over minutes or years, with expiry runs and closures between
    them, `replay --check` makes the same ledger again from them. Each write gets its own
    instant, as on a real clock (two writes at the very same instant are placed by their
    transactions' ids, which a write that made none does not have: docs/rules.md, "Replay")."""
    run = ServiceRun(services, clock, policy)
    for step in steps:
        run.step(step)
        clock.advance(microseconds=1)
    report = ReplayCheck(services).run(run.program_id)
    assert report.ok, report.differences
    assert report.transactions == sum(report.causes.values())
