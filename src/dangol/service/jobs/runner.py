"""Running scheduled jobs: each job of each program when it is due, under a lease.

The lease is a row per job and program (`job_leases`), taken atomically in a write
transaction (see JobsRepository.acquire) for a while on the wall clock, released when the
run ends; a worker that dies leaves a lease that runs out, and the next worker resumes (every
job is idempotent and commits its progress as it goes). A job's own `now` comes from the
program's clock (`clock_for`), so a program whose clock is advanced sees its jobs run as
that time passes; the run happens inside the program's clock scope (`scope`), so the services it
calls read that time too. A test program's jobs run only when its clock is advanced
(service/test_clocks/), each step under the same leases, its notifications included (the
outbox dispatch job, run for that program alone). Every run is a `job_runs` row, read through
the API."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ...domain.clock import Clock, SystemClock
from ...domain.errors import InvalidRequest
from ...storage.database import Database
from ...storage.jobs_repository import JobRun, JobsRepository
from ...storage.ledger_repository import LedgerRepository
from ..reads import Page, _cursor, _limit
from ..receipts import iso

log = logging.getLogger(__name__)

EVERY_PROGRAM = "*"  # a job that is not per program (outbox dispatch)
LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[str, datetime], dict[str, Any]]  # (program id, or "*", now) -> summary
    per_program: bool = True


def run_json(run: JobRun) -> dict[str, Any]:
    return {"id": run.id, "job": run.job, "program_id": run.program_id, "status": run.status, "holder": run.holder,
            "started_at": iso(run.started_at), "finished_at": iso(run.finished_at), "summary": run.summary}


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class JobRunner:
    def __init__(self, db: Database, jobs: Sequence[Job], clock_for: Callable[[str], Clock],
                 holder: str | None = None, wall_clock: Clock | None = None, lease: timedelta = LEASE,
                 scope: Callable[[str], AbstractContextManager[None]] | None = None) -> None:
        self.db, self.jobs, self.clock_for = db, list(jobs), clock_for
        self.scope = scope or (lambda program_id: nullcontext())
        self.holder = holder or default_holder()
        self.wall_clock = wall_clock or SystemClock()
        self.lease = lease

    @property
    def names(self) -> list[str]:
        return [job.name for job in self.jobs]

    def job(self, name: str) -> Job:
        for job in self.jobs:
            if job.name == name:
                return job
        raise InvalidRequest(f"unknown job {name!r}; known: {self.names}", field="job")

    def tick(self, only: Sequence[str] | None = None, *, force: bool = False,
             program_id: str | None = None) -> list[dict[str, Any]]:
        """Runs every job that is due (all of `only`, with `force`), for every live program
        (or `program_id`, live or test). Returns the runs made; a job another worker holds is
        skipped. A test program's jobs that are not per program (the outbox dispatch) run for
        it alone, at its time."""
        jobs = [self.job(name) for name in only] if only else self.jobs
        with self.db.read() as conn:
            found = LedgerRepository(conn).list_programs()
        if program_id is None:
            programs, shared = [p.id for p in found if not p.test_mode], EVERY_PROGRAM
        else:
            programs = [p.id for p in found if p.id == program_id]
            shared = program_id if any(p.test_mode for p in found if p.id == program_id) else EVERY_PROGRAM
        if shared != EVERY_PROGRAM:  # a test program's step: its notifications go out after the jobs made them
            jobs = sorted(jobs, key=lambda job: not job.per_program)
        made = []
        for job in jobs:
            for target in (programs if job.per_program else [shared]):
                if force or self.due(job, target):
                    run = self.run_one(job, target)
                    if run is not None:
                        made.append(run)
        return made

    def due(self, job: Job, program_id: str) -> bool:
        now = self._now(program_id)
        with self.db.read() as conn:
            last = JobsRepository(conn).last_success(program_id, job.name)
        return last is None or last + job.every <= now or last > now

    def run_one(self, job: Job, program_id: str) -> dict[str, Any] | None:
        """One run of the job for the program under its lease; None if another worker holds it."""
        lease, wall = f"{job.name}:{program_id}", self.wall_clock.now()
        now = self._now(program_id)
        with self.db.write() as conn:
            repo = JobsRepository(conn)
            if not repo.acquire(lease, self.holder, wall, wall + self.lease):
                return None
            run_id = repo.start_run(program_id, job.name, self.holder, now)
        status, summary = "failed", {}
        try:
            with self.scope(program_id):
                summary = job.run(program_id, now)
            status = "succeeded"
        except Exception as error:  # a job's failure is its run's, not the worker's
            log.exception("job %s of %s failed", job.name, program_id)
            summary = {"error": f"{type(error).__name__}: {error}"[:500]}
        finally:
            with self.db.write() as conn:
                repo = JobsRepository(conn)
                repo.finish_run(run_id, status, summary, now)
                repo.release(lease, self.holder)
        return {"id": run_id, "job": job.name, "program_id": program_id, "status": status, "summary": summary}

    def serve(self, stop: threading.Event, poll: float = 5.0) -> None:
        """Ticks until `stop` is set (the worker command; a thread of the server)."""
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # the database away for a moment: try again next tick
                log.exception("job tick failed")
            stop.wait(poll)

    def runs(self, program_id: str, job: str | None = None, cursor: str | None = None, limit: int = 50) -> Page:
        before, limit = _cursor(cursor), _limit(limit)
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            found = JobsRepository(conn).runs([program_id, EVERY_PROGRAM], job, before, limit + 1)
        items = found[:limit]
        return Page([run_json(r) for r in items], str(items[-1].id) if len(found) > limit else None)

    def _now(self, program_id: str) -> datetime:
        return self.clock_for(program_id).now()
