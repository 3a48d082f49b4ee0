"""Moving a test program's clock forward, and running what comes due as it goes.

An advance is a walk: what is due at the clock's time first, then from there to the target, in steps of at most a day that
also stop at each time a pending delivery of the program is due (so retries and their
backoff play out as they would live). At each step the clock is written, then the program's
due jobs run at that time under their leases (expiry, expiry warnings, tiers, birthdays,
statements, retention, and the program's outbox dispatch), each committing as it goes. A
failure stops the walk where it is: the clock says how far it got, and advancing again to
the same time goes on from there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ...domain.clock import Clock, as_utc
from ...domain.errors import Conflict, InvalidRequest
from ...storage.database import Database
from ...storage.ledger_repository import LedgerRepository
from ...storage.notifications_repository import NotificationsRepository
from ...storage.test_clocks_repository import TestClocksRepository
from ..jobs.runner import JobRunner
from ..receipts import iso

STEP = timedelta(days=1)
LONGEST = timedelta(days=366 * 5)  # one advance covers at most five years


class LiveProgram(Conflict):
    code = "live-program"
    title = "A live program has no test clock"


@dataclass(frozen=True)
class Advance:
    """Where the clock goes: to a time, or by a duration; never backwards."""

    to: datetime | None = None
    by: timedelta | None = None

    def target(self, now: datetime) -> datetime:
        if (self.to is None) == (self.by is None):
            raise InvalidRequest("give either `to` (a time) or `by` (a duration)", field="to")
        target = as_utc(self.to) if self.to is not None else now + (self.by or timedelta(0))
        if target < now:
            raise InvalidRequest(f"a test clock only moves forward: it is {iso(now)}", field="to" if self.to else "by")
        if target - now > LONGEST:
            raise InvalidRequest("one advance covers at most five years", field="to" if self.to else "by")
        return target

    def as_json(self) -> dict[str, Any]:
        return {"to": iso(self.to) if self.to else None, "by": self.by.total_seconds() if self.by is not None else None}


class TestClocks:
    __test__ = False  # not a pytest class

    def __init__(self, db: Database, jobs: JobRunner, wall_clock: Clock, step: timedelta = STEP) -> None:
        self.db, self.jobs, self.wall_clock, self.step = db, jobs, wall_clock, step

    def show(self, program_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            now = TestClocksRepository(conn).now_of(program_id)
        if now is None:
            raise LiveProgram(f"program {program_id!r} is live: it runs by the wall clock, and has no test clock")
        return {"program_id": program_id, "livemode": False, "now": iso(now)}

    def advance(self, program_id: str, advance: Advance) -> dict[str, Any]:
        """Moves the clock to the target, running the program's jobs as that time passes."""
        with self.db.held(f"test-clock/{program_id}"):  # one advance of a program at a time
            start = datetime.fromisoformat(self.show(program_id)["now"])
            target = advance.target(start)
            # First what is due at the clock's time (the notifications of changes made since its
            # last step), so that their retries fall within the walk.
            moment, runs = start, len(self.jobs.tick(program_id=program_id))
            while moment < target:
                moment = min(target, moment + self.step, self._next_delivery(program_id, moment) or target)
                with self.db.write() as conn:
                    TestClocksRepository(conn).move(program_id, moment, self.wall_clock.now())
                runs += len(self.jobs.tick(program_id=program_id))
        return {**self.show(program_id), "from": iso(start), "job_runs": runs}

    def _next_delivery(self, program_id: str, moment: datetime) -> datetime | None:
        with self.db.read() as conn:
            return NotificationsRepository(conn).next_attempt_after(program_id, moment)
