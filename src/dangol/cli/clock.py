"""`dangol clock`: a test program's clock, shown and moved forward."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import typer
from pydantic import TypeAdapter, ValidationError

from ..service.test_clocks.advance import Advance
from .context import CliError, parse_time, resolve_program, state
from .output import out

app = typer.Typer(help="Test programs' clocks: show, advance (a live program has none).", no_args_is_help=True)

_SHORT = re.compile(r"^(\d+)([wdhms])$")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(value: str) -> timedelta:
    """`30d`, `12h`, `90m`, `45s`, `2w`; or ISO 8601 (`P30D`, `PT1H`) or seconds, as the API takes them."""
    short = _SHORT.match(value.strip())
    if short:
        return timedelta(**{_UNITS[short.group(2)]: int(short.group(1))})
    try:
        return TypeAdapter(timedelta).validate_python(value)
    except ValidationError:
        raise CliError("--by must be a duration like 30d, 12h, 90m, P30D or a number of seconds") from None


@app.command("show")
def show(ctx: typer.Context,
         program: Annotated[str | None, typer.Option(help="The test program (default: the only program).")] = None
         ) -> None:
    """Show a test program's clock."""
    services = state(ctx).open()
    try:
        clock = services.test_clocks.show(resolve_program(services, program))
    finally:
        services.db.dispose()
    out.print(f"{clock['program_id']}: test clock at {clock['now']}", markup=False)


@app.command("advance")
def advance(
    ctx: typer.Context,
    program: Annotated[str | None, typer.Option(help="The test program (default: the only program).")] = None,
    by: Annotated[str | None, typer.Option(help="How far: 30d, 12h, 90m, P30D, or seconds.", show_default=False)] = None,
    to: Annotated[str | None, typer.Option(help="To this ISO 8601 time (with a zone).", show_default=False)] = None,
) -> None:
    """Move a test program's clock forward, running its jobs (expiry, warnings, tiers, birthdays,
    statements, notifications) as the time passes. Never backwards."""
    if (by is None) == (to is None):
        raise CliError("give either --by or --to")
    wanted = Advance(parse_time(to, "--to") if to else None, parse_duration(by) if by else None)
    services = state(ctx).open()
    try:
        moved = services.test_clocks.advance(resolve_program(services, program), wanted)
    finally:
        services.db.dispose()
    out.print(f"{moved['program_id']}: test clock moved from {moved['from']} to {moved['now']} "
              f"({moved['job_runs']} job runs)", markup=False)
