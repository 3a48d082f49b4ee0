"""`dangol balance`: one member's balance, as the API reports it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from .context import CliError, resolve_member, resolve_program, state
from .output import number, out, print_json


def balance(
    ctx: typer.Context,
    member: Annotated[str | None, typer.Argument(help="Member id (m_…).", show_default=False)] = None,
    ref: Annotated[str | None, typer.Option(help="Find the member by the brand's reference instead.")] = None,
    program: Annotated[str | None, typer.Option(help="Program id (default: the only program).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a member's balance.

    Available, pending and held points, and what expires within 30 days."""
    if member is None and ref is None:
        raise CliError("name a member id or --ref")
    services = state(ctx).open()
    try:
        program_id = resolve_program(services, program)
        found = resolve_member(services, program_id, member, ref)
        result = services.reader.balance(program_id, found["id"])
    finally:
        services.db.dispose()
    if as_json:
        print_json({"member": found, "balance": result})
        return
    expiring = result["expiring_soon"]
    table = Table(title=f"Member {found['id']} ({found['external_ref']}), {found['status']}", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("available", number(result["available"]))
    table.add_row("pending", number(result["pending"]))
    table.add_row("held", number(result["held"]))
    if result["debt"]:
        table.add_row("owed (clawback)", number(result["debt"]))
    table.add_row(f"expiring within {expiring['within_days']} days", number(expiring["points"]))
    if expiring["next_expiry"]:
        table.add_row("next expiry", expiring["next_expiry"])
    table.add_row("as of", result["as_of"])
    out.print(table)
