"""`dangol insight`: program KPIs per day, week or month, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from ..insight.kpis import PointValue
from ..service.insight.kpis import ProgramKpis
from .context import CliError, state
from .output import out, print_json

app = typer.Typer(help="Insight: program KPIs.", no_args_is_help=True)
POINT_VALUE = re.compile(r"^(\d{1,9})/(\d{1,9})$")
# (column, heading) of the table; CSV and JSON carry every field.
SHOWN = (("period", "period"), ("enrolments", "enrolled"), ("active_members_30d", "active 30d"),
         ("active_members_90d", "active 90d"), ("points_issued", "issued"), ("points_redeemed", "redeemed"),
         ("points_expired", "expired"), ("points_reversed", "reversed"), ("points_outstanding", "outstanding"),
         ("liability_minor", "liability"), ("redemption_rate", "redemption"), ("breakage_to_date", "breakage"),
         ("purchases", "purchases"), ("average_order_minor", "AOV"), ("repeat_purchase_rate", "repeat"))


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} must be a date like 2026-01-31") from None


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1%}"
    return f"{value:,}" if isinstance(value, int) else str(value)


@app.command("kpis")
def kpis(ctx: typer.Context,
         program: Annotated[str, typer.Option("--program", help="Program id.", show_default=False)],
         period: Annotated[str, typer.Option("--period", help="day, week or month.")] = "month",
         start: Annotated[str | None, typer.Option("--from", help="First day (default: 90 days ago).")] = None,
         end: Annotated[str | None, typer.Option("--to", help="Last day (default: today, UTC).")] = None,
         point_value: Annotated[str, typer.Option(
             "--point-value", help="MINOR/POINTS: what POINTS points are worth in minor units, for the liability.")] = "1/1",
         as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV (every field).")] = False,
         as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """KPIs per period: enrolments, active members, points issued to outstanding, liability,
    redemption rate, breakage, purchases, average order, repeat-purchase rate."""
    found = POINT_VALUE.match(point_value)
    if found is None:
        raise CliError("--point-value is MINOR/POINTS, like 1/1 or 5/10")
    value = PointValue(int(found.group(1)), int(found.group(2)))
    services = state(ctx).open()
    try:
        report = ProgramKpis(services.db, services.clock).report(program, period, _day(start, "--from"),
                                                                 _day(end, "--to"), value)
    finally:
        services.db.dispose()
    if as_json:
        print_json(report)
        return
    rows: list[dict[str, Any]] = report["rows"]
    if as_csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["period"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        out.file.write(buffer.getvalue())
        return
    table = Table(title=f"KPIs of {program} per {period}, {report['from']} to {report['to']}")
    # Fifteen columns need a wide terminal; the period itself is never cut.
    for _, heading in SHOWN:
        if heading == "period":
            table.add_column(heading, no_wrap=True, min_width=10)
        else:
            table.add_column(heading, justify="right")
    for row in rows:
        table.add_row(*(_cell(row[name]) for name, _ in SHOWN))
    out.print(table)
    if report["tier_distribution"]:
        out.print("tiers now: " + ", ".join(f"{tier} {count:,}" for tier, count in report["tier_distribution"].items()))
