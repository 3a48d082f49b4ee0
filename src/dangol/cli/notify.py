"""`dangol worker`, `dangol jobs` and `dangol deliveries`: scheduled jobs, the outbox's
dispatch, dead letters and their redelivery (docs/notifications.md)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.table import Table

from .context import resolve_program, state
from .output import out, print_json

jobs_app = typer.Typer(help="Scheduled jobs: run one now, list runs.", no_args_is_help=True)
deliveries_app = typer.Typer(help="Notification deliveries: list, redeliver.", no_args_is_help=True)

ProgramOption = Annotated[str | None, typer.Option("--program", help="Program id (default: the only program).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run what is due once, then exit.")] = False,
    poll: Annotated[float, typer.Option(help="Seconds between looks for due jobs.", min=0.1)] = 5.0,
) -> None:
    """Run the scheduled jobs (expiry, expiry warnings, tiers, birthdays, statements,
    retention, outbox dispatch) as they fall due, until interrupted.

    Any number of workers may run: a lease in the database lets one run each job at a time."""
    services = state(ctx).open()
    try:
        if once:
            for run in services.jobs.tick():
                out.print(f"{run['job']} ({run['program_id']}): {run['status']}")
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        out.print(f"Worker {services.jobs.holder} running {', '.join(services.jobs.names)}; Ctrl-C stops it.")
        services.jobs.serve(stop, poll)
    finally:
        services.db.dispose()


@jobs_app.command("run")
def run_job(
    ctx: typer.Context, job: Annotated[str, typer.Argument(help="expiry, expiry-warnings, tiers, birthdays, "
                                                                "statements, retention or outbox-dispatch")],
    program: ProgramOption = None, as_json: JsonOption = False,
) -> None:
    """Run a job now, due or not (skipped if another worker is running it)."""
    services = state(ctx).open()
    try:
        program_id = resolve_program(services, program)
        runs = services.jobs.tick([job], force=True, program_id=program_id)
    finally:
        services.db.dispose()
    if as_json:
        print_json(runs)
        return
    if not runs:
        out.print(f"{job}: another worker is running it")
    for run in runs:
        out.print(f"{run['job']} ({run['program_id']}): {run['status']} {run['summary']}")


@jobs_app.command("runs")
def job_runs(ctx: typer.Context, program: ProgramOption = None,
             job: Annotated[str | None, typer.Option(help="Only this job.")] = None,
             limit: Annotated[int, typer.Option(min=1, max=200)] = 20, as_json: JsonOption = False) -> None:
    """The latest runs of the program's jobs, newest first."""
    services = state(ctx).open()
    try:
        page = services.jobs.runs(resolve_program(services, program), job, None, limit)
    finally:
        services.db.dispose()
    if as_json:
        print_json(page.items)
        return
    table = Table("run", "job", "program", "status", "started", "finished")
    for run in page.items:
        table.add_row(str(run["id"]), run["job"], run["program_id"], run["status"], run["started_at"],
                      run["finished_at"] or "")
    out.print(table)


@deliveries_app.command("list")
def list_deliveries(
    ctx: typer.Context, program: ProgramOption = None,
    status: Annotated[str | None, typer.Option(help="pending, delivered or dead.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50, as_json: JsonOption = False,
) -> None:
    """The program's deliveries, oldest first (`--status dead`: the dead letters)."""
    services = state(ctx).open()
    try:
        page = services.webhooks.deliveries(resolve_program(services, program), None, status, None, limit)
    finally:
        services.db.dispose()
    if as_json:
        print_json(page.items)
        return
    table = Table("delivery", "channel", "status", "tries", "last error")
    for d in page.items:
        table.add_row(d["id"], d["channel"], d["status"], str(d["attempts"]), d["last_error"] or "")
    out.print(table)


@deliveries_app.command("redeliver")
def redeliver(ctx: typer.Context, delivery: Annotated[str, typer.Argument(help="The delivery id (msg_…).")],
              program: ProgramOption = None) -> None:
    """Send a delivery again from its first try, with the same id (the worker sends it)."""
    services = state(ctx).open()
    try:
        found = services.webhooks.redeliver(resolve_program(services, program), delivery)
    finally:
        services.db.dispose()
    out.print(f"Delivery {found['id']} is {found['status']}: the next dispatch sends it.")
