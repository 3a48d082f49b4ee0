"""Scheduled jobs: a lease in the database lets one of two workers (each with its own
engine and connections) run a job at a time; runs are recorded and read through the API;
the notification jobs tell each thing once however often they run."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi.testclient import TestClient

from dangol.api import create_app
from dangol.domain import commands as cmd
from dangol.domain.clock import FixedClock
from dangol.service.container import Services
from dangol.service.jobs.runner import Job, JobRunner
from dangol.service.programs import Scope
from dangol.storage.database import Database

from api.helpers import Api


def test_two_workers_never_run_the_same_job_at_once(services: Services, program_id: str,
                                                    database_url: str) -> None:
    running, overlaps, ran = [0], [0], []
    guard = threading.Lock()

    def slow(program: str, now: datetime) -> dict[str, Any]:
        with guard:
            running[0] += 1
            overlaps[0] = max(overlaps[0], running[0])
        time.sleep(0.3)
        with guard:
            running[0] -= 1
        return {"ok": True}

    job = Job("slow", timedelta(hours=1), slow)
    databases = [Database(database_url), Database(database_url)]  # two workers: their own engines
    runners = [JobRunner(db, [job], lambda _: services.clock, holder=f"worker-{i}")
               for i, db in enumerate(databases)]
    start = threading.Barrier(2)

    def work(runner: JobRunner) -> None:
        start.wait()
        ran.extend(runner.tick())

    threads = [threading.Thread(target=work, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in databases:
        db.dispose()
    assert overlaps[0] == 1
    assert [r["status"] for r in ran] == ["succeeded"]  # the other found the lease taken, or the run done
    assert runners[0].tick() == []  # done for the hour


def test_a_lease_left_by_a_dead_worker_runs_out(services: Services, program_id: str, clock: FixedClock) -> None:
    from dangol.storage.jobs_repository import JobsRepository

    wall = FixedClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    with services.db.write() as conn:  # a worker that took the lease and died
        assert JobsRepository(conn).acquire(f"expiry:{program_id}", "dead-worker", wall.now(),
                                            wall.now() + timedelta(minutes=10))
    runner = JobRunner(services.db, services.jobs.jobs, services.clock_of, holder="next", wall_clock=wall)
    assert runner.tick(["expiry"]) == []
    wall.advance(minutes=11)
    assert [r["status"] for r in runner.tick(["expiry"])] == ["succeeded"]


def test_runs_are_visible_through_the_api_and_statements_are_sent_once(
        services: Services, program_id: str, clock: FixedClock) -> None:
    member = services.ledger.run(program_id, cmd.Enroll("customer-1"))["member"]["id"]
    services.ledger.run(program_id, cmd.Earn(member, points=1_500))
    clock.set(datetime(2026, 2, 3, tzinfo=timezone.utc))
    first = services.jobs.tick(["statements"], force=True)
    again = services.jobs.tick(["statements"], force=True)
    assert first[0]["summary"] == {"month": "2026-01", "statements": 1, "already_sent": 0}
    assert again[0]["summary"] == {"month": "2026-01", "statements": 0, "already_sent": 1}
    token = services.programs.create_api_key(program_id, {Scope.READ}, "test")[1]
    with TestClient(create_app(services)) as client:
        page = Api(client, token).get(f"/v1/programs/{program_id}/job-runs", job="statements").json()
    assert [(r["job"], r["status"]) for r in page["items"]] == [("statements", "succeeded")] * 2
    with services.db.read() as conn:
        [payload] = [r[0] for r in conn.exec_driver_sql("SELECT payload FROM outbox WHERE type = 'statement.monthly'")]
    assert '"earned":1500' in payload and '"balance":1500' in payload


def test_every_standard_job_runs_on_an_empty_program(services: Services, program_id: str) -> None:
    runs = services.jobs.tick()
    assert {r["job"] for r in runs} == set(services.jobs.names)
    assert all(r["status"] == "succeeded" for r in runs), runs
    assert [r["job"] for r in services.jobs.tick()] == ["outbox-dispatch"]  # the others are done for now


def test_the_worker_command_runs_what_is_due_once(database_url: str, services: Services, program_id: str) -> None:
    from cli.helpers import dangol

    first = dangol(database_url, "worker", "--once")
    assert first.exit_code == 0, first.output
    assert "expiry (market): succeeded" in first.output and "outbox-dispatch (*): succeeded" in first.output
    again = dangol(database_url, "worker", "--once")
    assert again.output.splitlines() == ["outbox-dispatch (*): succeeded"]  # the rest is done for now
    listed = dangol(database_url, "deliveries", "list", "--program", program_id, "--status", "dead", "--json")
    assert listed.exit_code == 0 and listed.output.strip() == "[]"
