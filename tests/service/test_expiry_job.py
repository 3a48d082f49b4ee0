"""The expiry job: expires lots, releases pending lots and timed-out holds, as of a time;
idempotent, and resumable after a crash in the middle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from dangol.domain import FixedClock
from dangol.domain.commands import Earn, PlaceHold
from dangol.domain.errors import InvalidRequest
from dangol.service.container import Services
from dangol.service.expiry import ExpiryJob


class Crash(Exception):
    pass


def populate(services: Services, clock: FixedClock, program_id: str, enroll: Callable[..., str]) -> list[str]:
    """Seven members, each with 1,000 points that expire a year after T0, a pending lot of
    200 released at T0+20d, and a hold of 1,000 that times out after 15 minutes."""
    members = [enroll(f"customer-{i}") for i in range(7)]
    start = clock.now()
    for member in members:
        services.ledger.run(program_id, Earn(member, points=1_000))
        services.ledger.run(program_id, Earn(member, points=200, available_at=start + timedelta(days=20)))
        services.ledger.run(program_id, Earn(member, points=1_000, expires_at=start + timedelta(days=100)))
        services.ledger.run(program_id, PlaceHold(member, 1_000))
    return members


def test_expiry_is_idempotent(services: Services, clock: FixedClock, program_id: str,
                              enroll: Callable[..., str]) -> None:
    members = populate(services, clock, program_id, enroll)
    clock.advance(days=150)
    job = ExpiryJob(services.db, clock, batch_size=2)
    report = job.run(program_id)
    # Per member: the hold times out (its 1,000 go back to the lot expiring on day 100),
    # the 200 pending points are released, and the 1,000 of the day-100 lot expire.
    assert (report.members, report.holds_released, report.released_points, report.expired_points) == (
        7, 7, 7 * 200, 7 * 1_000)
    for member in members:
        assert services.reader.balance(program_id, member)["available"] == 1_200
    again = job.run(program_id)
    assert (again.members, again.transactions, again.expired_points) == (0, 0, 0)
    assert services.check.run().ok


def test_expiry_resumes_after_a_crash(services: Services, clock: FixedClock, program_id: str,
                                      enroll: Callable[..., str]) -> None:
    populate(services, clock, program_id, enroll)
    clock.advance(days=400)  # everything has expired
    batches: list[int] = []

    def crash_after_two_batches(done: int) -> None:
        batches.append(done)
        if len(batches) == 2:
            raise Crash

    job = ExpiryJob(services.db, clock, batch_size=3)
    with pytest.raises(Crash):
        job.run(program_id, progress=crash_after_two_batches)
    assert batches == [3, 3]  # two batches were committed before the crash
    rest = job.run(program_id)
    assert rest.members == 1 and rest.expired_points == 2_200
    assert job.run(program_id).transactions == 0
    with services.db.read() as conn:
        expired = conn.exec_driver_sql(
            "SELECT SUM(amount) FROM postings WHERE account = 'expired' AND program_id = 'market'").scalar()
    assert expired == 7 * 2_200  # every point exactly once
    assert services.check.run().ok


def test_expiry_as_of_an_earlier_time_and_never_ahead_of_the_clock(
        services: Services, clock: FixedClock, program_id: str, enroll: Callable[..., str]) -> None:
    [member, *_] = populate(services, clock, program_id, enroll)
    start = clock.now()
    clock.advance(days=400)
    with pytest.raises(InvalidRequest):
        services.expiry.run(program_id, as_of=clock.now() + timedelta(seconds=1))
    report = services.expiry.run(program_id, as_of=start + timedelta(days=50))
    # By day 50 only the holds had timed out and the pending lots been released.
    assert (report.holds_released, report.released_points, report.expired_points) == (7, 1_400, 0)
    assert services.reader.balance(program_id, member, at=start + timedelta(days=50))["available"] == 2_200
