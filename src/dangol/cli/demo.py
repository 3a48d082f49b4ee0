"""`dangol demo`: the example program with a year of synthetic members and activity."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..demo import PROGRAM_ID, load_demo
from .context import state
from .importing import print_report
from .log import integrate_log
from .output import count_progress, number, out
from .setup import initialise, show_admin_key


def demo(
    ctx: typer.Context,
    members: Annotated[int, typer.Option(min=1, max=1_000_000, help="How many members to make up.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the random history: the same seed, the same history.")] = 42,
    save_events: Annotated[Path | None, typer.Option(
        help="Keep the generated event file (JSON Lines) here.")] = None,
) -> None:
    """Load the example program with synthetic history.

    The talent marketplace of the product brief (program `market`) with a year of members
    and activity. Initialises the database if needed. Running it again with the same
    options changes nothing."""
    services = state(ctx).open(migrate=True)
    try:
        token = initialise(services)
        with count_progress("loading the demo") as progress:
            task = progress.add_task("demo", total=None)
            result = load_demo(services, members, seed, events_path=save_events,
                               progress=lambda done, total: progress.update(task, completed=done, total=total))
        integrate_log(services)
    finally:
        services.db.dispose()
    print_report(result.imported, PROGRAM_ID, f"the demo's history ({members} members, seed {seed})")
    if result.expiry.transactions:
        out.print(f"Expiry run: {number(result.expiry.expired_points)} points expired "
                  f"for {number(result.expiry.members)} members.")
    table = Table(title=f"Program {PROGRAM_ID}" + (" (created)" if result.program_created else ""))
    table.add_column("")
    table.add_column("total", justify="right")
    for label, value in result.totals.rows():
        table.add_row(label, number(value))
    out.print(table)
    if token:
        show_admin_key(token)
