"""`dangol fraud`: the review queue (list, release, reverse) and the anomaly scoring job."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ..service.staff.audit import CLI
from .context import resolve_program, state
from .output import out, print_json

app = typer.Typer(help="Fraud reviews and anomaly scores.", no_args_is_help=True)

ProgramOption = Annotated[str | None, typer.Option("--program", help="Program id (default: the only program).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _run(ctx: typer.Context, program: str | None, call: Any) -> Any:
    services = state(ctx).open()
    try:
        return call(services, resolve_program(services, program))
    finally:
        services.db.dispose()


@app.command("reviews")
def reviews(ctx: typer.Context, program: ProgramOption = None,
            status: Annotated[str, typer.Option(help="open, released, reversed or all.")] = "open",
            limit: Annotated[int, typer.Option(help="At most this many (1 to 200).")] = 50,
            as_json: JsonOption = False) -> None:
    """List the flagged and held events waiting for review (or those settled)."""
    page = _run(ctx, program, lambda s, p: s.fraud_reviews.list(p, None if status == "all" else status, limit=limit))
    if as_json:
        print_json({"items": page.items, "next_cursor": page.next_cursor})
        return
    table = Table(title="Fraud reviews")
    for column in ("id", "member", "event", "action", "status", "points", "why"):
        table.add_column(column)
    for r in page.items:
        table.add_row(str(r["id"]), r["member_id"], r["event_id"], r["action"], r["status"], f"{r['points']:,}",
                      "; ".join(f["reason"] for f in r["findings"]))
    out.print(table)


def _settled(review: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(review)
        return
    moved = review["resolution"]["points"] if review["resolution"] else 0
    out.print(f"Review {review['id']} ({review['event_id']} of {review['member_id']}) {review['status']}: "
              f"{moved:,} points {'made available' if review['status'] == 'released' else 'taken back'}.")


@app.command("release")
def release(ctx: typer.Context, review_id: int, program: ProgramOption = None, as_json: JsonOption = False) -> None:
    """Release a review: its held points become available now. Running it again changes nothing."""
    _settled(_run(ctx, program, lambda s, p: s.fraud_reviews.release(p, review_id, CLI)), as_json)


@app.command("reverse")
def reverse(ctx: typer.Context, review_id: int, program: ProgramOption = None, as_json: JsonOption = False) -> None:
    """Reverse a review: the event's points are taken back. Running it again changes nothing."""
    _settled(_run(ctx, program, lambda s, p: s.fraud_reviews.reverse(p, review_id, CLI)), as_json)


@app.command("score")
def score(ctx: typer.Context, program: ProgramOption = None,
          top: Annotated[int, typer.Option(help="Show this many of the most anomalous members.")] = 10,
          seed: Annotated[int, typer.Option(help="The forest's random seed (same seed, same scores).")] = 0,
          as_json: JsonOption = False) -> None:
    """Score every member's behaviour with an isolation forest trained on the members whose
    consent allows analytics; the scores replace the last run's."""
    report, best = _run(ctx, program, lambda s, p: (s.anomaly.run(p, seed=seed), s.anomaly.top(p, max(top, 1))))
    if as_json:
        print_json({**report, "top": best[:top]})
        return
    out.print(f"Scored {report['scored']:,} of {report['members']:,} members "
              f"(trained on {report['trained_on']:,} who allow analytics).")
    for row in best[:top]:
        out.print(f"  {row['member_id']}  {row['score']:,}")
