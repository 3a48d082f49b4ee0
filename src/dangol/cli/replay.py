"""`dangol replay --check`: the ledger follows from the recorded events and published rules."""

from __future__ import annotations

from typing import Annotated

import typer

from ..service.replay import ReplayCheck
from .context import CliError, resolve_program, state
from .output import count_progress, err, number, out


def replay(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option("--check", help="Compare the replay with the ledger (the only mode).")]
    = False,
    program: Annotated[str | None, typer.Option(help="Program id (default: the only program).")] = None,
) -> None:
    """Re-judge every recorded event, in order, by the rules in force at its time, on an empty
    scratch ledger, with the recorded requests (redemptions, holds, adjustments, transfers,
    reversals, coupon redemptions, imports) and expiry runs made again between them, and
    compare the ledger it makes with the ledger. Exit code 1 naming the first difference."""
    if not check:
        raise CliError("replay only checks for now: run `dangol replay --check`")
    services = state(ctx).open()
    try:
        program_id = resolve_program(services, program)
        with count_progress("replaying events") as progress:
            task = progress.add_task("replay", total=None)
            report = ReplayCheck(services).run(
                program_id, lambda done, total: progress.update(task, completed=done, total=total))
    finally:
        services.db.dispose()
    if report.ok:
        causes = ", ".join(f"{number(count)} by {cause}" for cause, count in report.causes.items())
        out.print(f"OK: {number(report.events)} events of {program_id} replayed; {number(report.transactions)} "
                  "ledger transactions follow from them, the recorded requests and the published rules"
                  f"{f' ({causes})' if causes else ''}.", markup=False, soft_wrap=True)
        return
    out.print(f"DIFFERENT: {report.differences[0]}", markup=False, soft_wrap=True)
    for difference in report.differences[1:]:
        err.print(f"also: {difference}", markup=False, soft_wrap=True)
    raise typer.Exit(1)
