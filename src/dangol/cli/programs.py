"""`dangol programs`: create and list loyalty programs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ..domain import EarnRate, ProgramPolicy
from .context import CliError, state
from .output import number, out, print_json

app = typer.Typer(help="Create and list programs.", no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    program_id: Annotated[str, typer.Argument(metavar="ID", help="Program id: lowercase letters, digits, dashes.",
                                              show_default=False)],
    name: Annotated[str | None, typer.Option(help="Display name (with --example: the example's).",
                                             show_default=False)] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 currency of purchases.", show_default=False)] = None,
    earn_points: Annotated[int, typer.Option(help="Points earned per --earn-per minor units of money.")] = 0,
    earn_per: Annotated[int, typer.Option(help="Minor units of money per --earn-points points.")] = 100,
    validity_days: Annotated[int, typer.Option(help="Days earned points stay valid.")] = 365,
    min_redemption: Annotated[int, typer.Option(help="Smallest redemption or hold, in points.")] = 1_000,
    hold_timeout: Annotated[int, typer.Option(help="Seconds a hold lasts unless captured.")] = 900,
    allow_transfers: Annotated[bool, typer.Option("--allow-transfers", help="Let members send points.")] = False,
    allow_negative_balance: Annotated[bool, typer.Option(
        "--allow-negative-balance", help="Let refund clawbacks overdraw a member.")] = False,
    example: Annotated[str | None, typer.Option(
        help="Set up the brief's example program instead: its policy, rules policy and ruleset, launching now "
             "(the only example: market).", show_default=False)] = None,
    test: Annotated[bool, typer.Option("--test", help="Test mode: the program runs by its own test clock, "
                                       "moved with `dangol clock advance`; it is never switched to live.")] = False,
) -> None:
    """Create a program (5% of KRW spend: --name Shop --currency KRW --earn-points 5 --earn-per 100),
    or the example program complete with its rules (--example market)."""
    if example is not None:
        _create_example(ctx, program_id, example, name, currency, test)
        return
    if name is None or currency is None:
        raise CliError("a program needs --name and --currency (or --example market for the example program)")
    policy = ProgramPolicy(lot_validity_days=validity_days, min_redemption=min_redemption,
                           allow_negative_balance=allow_negative_balance, allow_transfers=allow_transfers,
                           hold_timeout_seconds=hold_timeout, earn_rate=EarnRate(earn_points, earn_per))
    services = state(ctx).open()
    try:
        program = services.programs.create_program(program_id, name, currency, policy, test_mode=test)
    finally:
        services.db.dispose()
    out.print(f"Created {'test ' if test else ''}program {program['id']} ({program['name']}, {program['currency']}).",
              markup=False)


def _create_example(ctx: typer.Context, program_id: str, example: str, name: str | None,
                    currency: str | None, test: bool) -> None:
    from ..service.example_program import CURRENCY, EXAMPLE_ID, NAME, create_example_program

    if example != EXAMPLE_ID:
        raise CliError(f"unknown example {example!r}: the example program is {EXAMPLE_ID!r}")
    if currency not in (None, CURRENCY):
        raise CliError(f"the example program counts in {CURRENCY}")
    services = state(ctx).open()
    try:
        made = create_example_program(services, program_id, name or NAME, test_mode=test)
    finally:
        services.db.dispose()
    first, last = made.launch_week
    out.print(f"Created {'test ' if test else ''}program {program_id} ({made.program['name']}, {CURRENCY}) "
              f"from the example: "
              f"ruleset #{made.ruleset['number']} '{made.ruleset['version']}' in force from "
              f"{made.ruleset['effective_from']}, launch week {first} to {last} ({made.rules_policy['default_time_zone']}).",
              markup=False)


@app.command("list")
def list_programs(ctx: typer.Context,
                  as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the programs."""
    from ..service.receipts import program_json

    services = state(ctx).open()
    try:
        programs = services.programs.list_programs()
    finally:
        services.db.dispose()
    if as_json:
        print_json([program_json(p) for p in programs])
        return
    table = Table()
    table.add_column("id", no_wrap=True)
    table.add_column("name", overflow="fold")
    for column in ("currency", "earns", "days valid", "min. redeem", "gifts"):
        table.add_column(column, no_wrap=True)
    for p in programs:
        rate = p.policy.earn_rate
        table.add_row(p.id, p.name, p.currency, f"{rate.points}/{number(rate.per_minor_units)}",
                      str(p.policy.lot_validity_days), number(p.policy.min_redemption),
                      "yes" if p.policy.allow_transfers else "no")
    out.print(table)
