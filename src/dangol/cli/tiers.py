"""`dangol tiers`: recalculate a program's tiers, show a member's tier."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..rules import InvalidRuleset
from ..rules.loader import load_example, load_ruleset_file
from ..service.container import Services
from .context import CliError, parse_time, state
from .output import err, number, out, print_json

EXAMPLES = ("market",)  # src/dangol/rules/examples/<name>.yaml
app = typer.Typer(help="Tiers: recalculate a program's, show a member's.", no_args_is_help=True)

ProgramOption = Annotated[str, typer.Option("--program", help="Program id.", show_default=False)]
AtOption = Annotated[str | None, typer.Option("--at", help="As of this ISO 8601 time (default: now).")]
RulesetOption = Annotated[str | None, typer.Option(
    "--ruleset", help="Ruleset file (YAML or JSON) whose tiers: section is the program's ladder, "
                      "or the name of a ruleset shipped with dangol (market).")]


def _use_ruleset(services: Services, program: str, ruleset: str | None) -> None:
    """Until rulesets are published in the database, the ladder comes from the file given."""
    if ruleset is None:
        return
    try:
        shipped = ruleset in EXAMPLES and not Path(ruleset).exists()
        ladder = (load_example(ruleset) if shipped else load_ruleset_file(ruleset)).tiers
    except InvalidRuleset as error:
        more = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        raise CliError(f"{ruleset}: {error.problems[0]}{more}") from None
    if ladder is None:
        raise CliError(f"{ruleset} has no tiers: section")
    services.tiers.use_ladder(program, ladder)


@app.command("recalculate")
def recalculate(ctx: typer.Context, program: ProgramOption, at: AtOption = None,
                ruleset: RulesetOption = None) -> None:
    """Recalculate every member's tier: due upgrades, and downgrades of ended windows.

    Idempotent: running it again for the same time changes nothing; an interrupted run
    resumes where it stopped."""
    services = state(ctx).open()
    try:
        _use_ruleset(services, program, ruleset)
        moment = parse_time(at, "--at") if at else None
        columns = (SpinnerColumn(), TextColumn("recalculating tiers"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task("tiers", total=None)
            report = services.tiers.recalculate(
                program, moment, progress=lambda done, total: progress.update(task, completed=done, total=total))
    finally:
        services.db.dispose()
    body = report.as_json()
    table = Table(title=f"Tier recalculation of {program}", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("as of", str(body["at"]))
    for label in ("members", "changes", "upgrades", "downgrades", "grace"):
        table.add_row(label, number(body[label]))
    if report.resumed:
        table.add_row("resumed", "yes")
    out.print(table)


@app.command("show")
def show(ctx: typer.Context, program: ProgramOption,
         member: Annotated[str, typer.Option("--member", help="Member id.", show_default=False)],
         at: AtOption = None, ruleset: RulesetOption = None,
         as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """A member's tier, its benefits, the metric so far and what remains to the next tier."""
    services = state(ctx).open()
    try:
        _use_ruleset(services, program, ruleset)
        view = services.tiers.member_view(program, member, parse_time(at, "--at") if at else None)
        history = services.tiers.history(program, member, limit=10).items
    finally:
        services.db.dispose()
    if as_json:
        print_json({**view, "history": history})
        return
    tier, benefits = view["tier"], view["tier"]["benefits"]
    table = Table(title=f"Tier of {member}", show_header=False)
    table.add_column("")
    table.add_column("")
    table.add_row("tier", tier["name"] + (f" (since {view['since']})" if view["since"] else ""))
    if benefits["earn_bonus"]:
        table.add_row("earn bonus", f"+{benefits['earn_bonus']['points']} points per {benefits['earn_bonus']['per']:,}")
    if benefits["multiplier"]:
        table.add_row("multiplier", f"x{benefits['multiplier']}")
    for perk in benefits["perks"]:
        table.add_row("perk", perk)
    if benefits["badge"]:
        table.add_row("badge", benefits["badge"])
    if benefits["gifting"]:
        table.add_row("gifting", "may transfer points to other members")
    table.add_row(view["metric"]["name"], f"{number(view['metric']['value'])} this window "
                                          f"({view['window']['start']} to {view['window']['end']})")
    if view["next_tier"]:
        table.add_row("next tier", f"{view['next_tier']['name']}: {number(view['remaining'])} to go")
    if view["drops_at"]:
        table.add_row("drops", f"to {view['qualifies_for']} at {view['drops_at']} unless it qualifies again")
    for change in history:
        table.add_row("history", f"{change['at']} {change['reason']}: {change['from']} -> {change['to']} "
                                 f"({number(change['metric'])})")
    out.print(table, markup=False)
