"""`dangol insight`: program KPIs per day, week or month (a table, CSV or JSON); the
lifetime-value models and the churn comparison on the members who allow it."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from ..insight.clv import ClvTerms
from ..insight.kpis import PointValue
from ..service.insight.kpis import ProgramKpis
from ..service.insight.training import InsightModels
from .context import CliError, state
from .output import out, print_json

app = typer.Typer(help="Insight: program KPIs, lifetime value, churn.", no_args_is_help=True)
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


def _estimates(title: str, estimates: dict[str, dict[str, float]]) -> Table:
    table = Table(title=title)
    table.add_column("parameter")
    table.add_column("estimate", justify="right")
    table.add_column("standard error", justify="right")
    for name, figures in estimates.items():
        table.add_row(name, f"{figures['estimate']:.4g}", f"{figures['standard_error']:.3g}")
    return table


@app.command("clv")
def clv(ctx: typer.Context,
        program: Annotated[str, typer.Option("--program", help="Program id.", show_default=False)],
        periods: Annotated[int, typer.Option("--periods", help="Horizon, in periods.")] = 12,
        period_days: Annotated[float, typer.Option("--period-days", help="Length of a period, in days.")] = 30.0,
        discount: Annotated[float, typer.Option("--discount", help="Discount rate per period.")] = 0.01,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON, with every member's CLV.")] = False) -> None:
    """Fit BG/NBD and Gamma-Gamma on the members who granted personalisation and print the
    parameters, their standard errors and the lifetime value they predict."""
    terms = ClvTerms(periods=periods, period_length=period_days, discount_rate=discount)
    services = state(ctx).open()
    try:
        answer = InsightModels(services.db, services.clock).lifetime_value(program, terms)
    finally:
        services.db.dispose()
    if as_json:
        print_json(answer)
        return
    out.print(f"{answer['members']:,} members (left out without consent: {answer['left_out_without_consent']:,}); "
              "times in days")
    out.print(_estimates("BG/NBD (purchases, drop-out)", answer["bgnbd"]))
    out.print(_estimates("Gamma-Gamma (spend per purchase)", answer["gamma_gamma"]))
    value = answer["clv"]
    out.print(f"CLV over {periods} periods of {period_days:g} days at {discount:.2%} a period: "
              f"mean {value['mean_minor']:,}, total {value['total_minor']:,} (minor units)")


@app.command("churn")
def churn(ctx: typer.Context,
          program: Annotated[str, typer.Option("--program", help="Program id.", show_default=False)],
          horizon: Annotated[int, typer.Option("--horizon", help="Days without a purchase that make churn.")] = 90,
          as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Train the churn classifier on the window ending HORIZON days ago and judge it on the
    last HORIZON days, beside BG/NBD on the same members (those who granted personalisation)."""
    services = state(ctx).open()
    try:
        result = InsightModels(services.db, services.clock).churn_comparison(program, horizon)
    finally:
        services.db.dispose()
    scores = (("classifier", result.classifier_auc, result.classifier_calibration),
              ("BG/NBD P(no purchase)", result.quiet_auc, result.quiet_calibration),
              ("BG/NBD 1 - P(alive)", result.baseline_auc, result.baseline_calibration))
    if as_json:
        print_json({"program_id": program, "horizon_days": horizon, "train_members": result.train_members,
                    "holdout_members": result.holdout_members, "holdout_churn_rate": result.holdout_churn_rate,
                    "scores": {name: {"auc": auc, "brier": c.brier, "expected_calibration_error":
                                      c.expected_calibration_error} for name, auc, c in scores}})
        return
    table = Table(title=f"Churn in {horizon} days: {result.train_members:,} members trained, "
                        f"{result.holdout_members:,} judged ({result.holdout_churn_rate:.1%} churned)")
    for heading in ("score", "AUC", "Brier", "calibration error"):
        table.add_column(heading, justify="left" if heading == "score" else "right")
    for name, auc, c in scores:
        table.add_row(name, f"{auc:.3f}", f"{c.brier:.3f}", f"{c.expected_calibration_error:.3f}")
    out.print(table)
    best = max(result.quiet_auc, result.baseline_auc)
    verdict = "beats" if result.classifier_auc > best else "does not beat"
    out.print(f"the classifier {verdict} BG/NBD's best score ({result.classifier_auc - best:+.3f} AUC)")
