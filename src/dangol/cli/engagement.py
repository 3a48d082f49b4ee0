"""`dangol birthdays` (the daily birthday job) and `dangol leaderboard`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from ..service.birthdays import SendEvent
from ..service.container import Services
from .context import CliError, resolve_program, state
from .output import count_progress, number, out, plural


def event_sender(services: Services) -> SendEvent:
    """Where birthday events go: the events service, in-process (each is recorded, judged by
    the ruleset in force, and its bonus posted, like a `POST .../events`)."""
    send: SendEvent = services.send_event
    return send


def birthdays(
    ctx: typer.Context,
    program: Annotated[str | None, typer.Option(help="The program (default: the only one).")] = None,
    on: Annotated[str | None, typer.Option("--date", help="Run for this date, YYYY-MM-DD, as every member's "
                                            "local date (default: today in each member's time zone).")] = None,
) -> None:
    """Send a `birthday` event for every member whose birthday is today.

    Idempotent: the event id is the member and the year, so a member gets one a year."""
    services = state(ctx).open()
    try:
        program_id = resolve_program(services, program)
        day = _date(on) if on else None
        send = event_sender(services)
        with count_progress("checking birthdays") as progress:
            task = progress.add_task("birthdays", total=None)
            run = services.birthdays.run(program_id, send, day, progress=lambda n: progress.advance(task, n))
    finally:
        services.db.dispose()
    out.print(f"{plural(len(run.sent), 'birthday event', 'birthday events')} sent "
              f"({plural(run.checked, 'member', 'members')} with a birthday checked)")


def leaderboard(
    ctx: typer.Context,
    month: Annotated[str, typer.Option(help="The calendar month in the program's time zone, YYYY-MM.")],
    program: Annotated[str | None, typer.Option(help="The program (default: the only one).")] = None,
    limit: Annotated[int, typer.Option(help="How many places, 1 to 100.")] = 10,
) -> None:
    """The month's top earners among members who opted in, by their display names."""
    services = state(ctx).open()
    try:
        board = services.leaderboards.monthly(resolve_program(services, program), month, limit)
    finally:
        services.db.dispose()
    table = Table(title=f"Top earners, {month} ({board['time_zone']})")
    table.add_column("#", justify="right")
    table.add_column("name")
    table.add_column("points", justify="right")
    for entry in board["entries"]:
        table.add_row(str(entry["rank"]), entry["display_name"], number(entry["points"]))
    if not board["entries"]:
        out.print(f"nobody who opted in earned points in {month}")
        return
    out.print(table)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"--date must be a date, YYYY-MM-DD, not {value!r}") from None
