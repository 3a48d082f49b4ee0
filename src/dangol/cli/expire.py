"""`dangol expire`: expire due lots, release due pending points and timed-out holds."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from .context import parse_time, state
from .log import integrate_log
from .output import count_progress, number, out


def expire(
    ctx: typer.Context,
    program: Annotated[str | None, typer.Option(
        help="Only this program, by its clock (default: every live program).")] = None,
    as_of: Annotated[str | None, typer.Option(
        help="Expire as of this ISO 8601 time (default: now; never later than now).")] = None,
) -> None:
    """Expire due points, release pending points and timed-out holds.

    Idempotent: running it again finds nothing more to do."""
    services = state(ctx).open()
    try:
        if program is not None:
            services.programs.get_program(program)
            services.clocks.enter(program)  # a test program's "now" is its test clock
        moment = parse_time(as_of, "--as-of") if as_of else None
        with count_progress("settling members") as progress:
            task = progress.add_task("expire", total=None)
            report = services.expiry.run(program, moment, progress=lambda n: progress.advance(task, n))
        integrate_log(services)
    finally:
        services.db.dispose()
    table = Table(title="Expiry run", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("as of", str(report.as_json()["as_of"]))
    for label, value in (("programs", len(report.programs)), ("members settled", report.members),
                         ("points expired", report.expired_points), ("pending points released", report.released_points),
                         ("holds timed out", report.holds_released), ("transactions", report.transactions)):
        table.add_row(label, number(value))
    out.print(table)
