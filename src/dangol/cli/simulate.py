"""`dangol simulate`: a candidate ruleset over recorded events, against the rules in force."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..service.simulation import Simulation
from .context import parse_time, resolve_program, state
from .output import count_progress, number, out, print_json


def simulate(
    ctx: typer.Context,
    candidate: Annotated[Path, typer.Argument(metavar="CANDIDATE.yaml", help="The ruleset to try (.yaml or .json).",
                                              show_default=False)],
    start: Annotated[str, typer.Option("--from", help="Start of the period (ISO 8601 with a zone).",
                                       show_default=False)],
    end: Annotated[str, typer.Option("--to", help="End of the period, exclusive.", show_default=False)],
    program: Annotated[str | None, typer.Option(help="Program id (default: the only program).")] = None,
    point_value: Annotated[int, typer.Option(min=0, help="What one point costs, in minor units of the currency.")]
    = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What CANDIDATE would have issued over the period's recorded events, beside what the rules
    in force issued: points, cost, members affected. The ledger is not touched."""
    text = candidate.read_text(encoding="utf-8")
    since, until = parse_time(start, "--from"), parse_time(end, "--to")
    services = state(ctx).open()
    try:
        program_id = resolve_program(services, program)
        with count_progress("simulating") as progress:
            task = progress.add_task("simulate", total=None)
            report = Simulation(services).run(
                program_id, text, since, until, point_value=point_value,
                format="json" if candidate.suffix.lower() == ".json" else "yaml",
                progress=lambda done, total: progress.update(task, completed=done, total=total))
    finally:
        services.db.dispose()
    result = report.as_json()
    if as_json:
        print_json(result)
        return
    current, simulated, difference = result["current"], result["candidate_result"], result["difference"]
    table = Table(title=f"{candidate.name} on {number(report.events)} events of {program_id}, "
                        f"{result['from']} to {result['to']}")
    for column in ("", "rules in force", "candidate", "difference"):
        table.add_column(column, justify="right" if column else "left")
    table.add_row("points issued", number(current["points"]), number(simulated["points"]),
                  f"{difference['points']:+,}")
    table.add_row(f"cost ({report.currency}, {point_value}/point)", number(current["cost"]),
                  number(simulated["cost"]), f"{difference['cost']:+,}")
    table.add_row("members earning", number(current["members_earning"]), number(simulated["members_earning"]), "")
    table.add_row("members affected", "", "", number(difference["members_affected"]))
    for rule in sorted(set(current["by_rule"]) | set(simulated["by_rule"])):
        before, after = current["by_rule"].get(rule, 0), simulated["by_rule"].get(rule, 0)
        table.add_row(f"  {rule}", number(before), number(after), f"{after - before:+,}")
    if simulated["refused_events"]:
        table.add_row("events refused", "", number(simulated["refused_events"]), "")
    out.print(table)
    out.print("tiers: " + ("none in this program yet" if result["tiers"] is None else str(result["tiers"])),
              markup=False)
