"""`dangol events send` (business events from a JSON Lines file) and `dangol quote` (what an
event would earn, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..api.event_batches import InvalidEvent, answer, judged, parse_event
from ..domain.errors import DomainError
from ..service.events import EventInput
from .context import resolve_program, state
from .output import count_progress, err, number, out, print_json

app = typer.Typer(help="Send business events (docs/rules.md).", no_args_is_help=True)
MAX_SHOWN = 20
BATCH = 1_000  # events per transaction: a commit per event cost more than judging it


def _parsed(line: str) -> tuple[Any, EventInput | InvalidEvent]:
    """A line's JSON and its event, or what is wrong with it (as POST …/events:batch says it)."""
    try:
        raw = json.loads(line)
    except ValueError as error:
        return None, InvalidEvent([{"loc": [], "msg": f"Invalid JSON: {error}", "type": "json_invalid"}])
    return raw, parse_event(raw)


def _event(text: str) -> EventInput:
    """One event for `quote`; a ValueError (a one-line message) when it is not one."""
    event = _parsed(text)[1]
    if isinstance(event, InvalidEvent):
        raise ValueError(event.detail)
    return event


@app.command("send")
def send(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE.jsonl", help="One event per line, as POST /events takes it.",
                                         show_default=False)],
    program: Annotated[str | None, typer.Option(help="Program id (default: the only program).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print every line's answer as a JSON line, as POST …/events:batch answers each event.")] = False,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Events per database transaction.")] = BATCH,
) -> None:
    """Record the events of a JSON Lines file, in order, in batches (one transaction each; an
    event refused leaves no trace and the others are recorded), as POST …/events:batch does
    over HTTP. Safe to run again: an event id already recorded with the same body is
    answered as before. Exit code 1 when events were refused."""
    lines = [line for line in file.read_text(encoding="utf-8").splitlines()]
    services = state(ctx).open()
    refused: list[str] = []
    points = recorded = 0
    try:
        program_id = resolve_program(services, program)
        with count_progress(f"sending {file.name}") as progress:
            task = progress.add_task("send", total=sum(1 for line in lines if line.strip()))
            numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
            for start in range(0, len(numbered), batch):
                chunk = [(n, *_parsed(line)) for n, line in numbered[start:start + batch]]
                events = [event for _, _, event in chunk if isinstance(event, EventInput)]
                outcomes = services.events.record_many(program_id, events) if events else []
                for (number_, raw, _), outcome in zip(chunk, judged([event for _, _, event in chunk], outcomes)):
                    if isinstance(outcome, (DomainError, InvalidEvent)):
                        refused.append(f"line {number_}: {outcome.detail}")
                    else:
                        recorded += 1
                        points += sum(p["points"] for p in outcome["effects"]["points"])
                    if as_json:
                        item = {"line": number_} | answer(file.name, raw, outcome)
                        out.print(json.dumps(item, ensure_ascii=False), markup=False, soft_wrap=True)
                    progress.advance(task)
    finally:
        services.db.dispose()
    if not as_json:
        out.print(f"Sent {file} to program {program_id}: {number(recorded)} recorded, {number(len(refused))} "
                  f"refused, {number(points)} points awarded.", markup=False, soft_wrap=True)
    for reason in refused[:MAX_SHOWN]:
        err.print(f"refused: {reason}", markup=False, soft_wrap=True)
    if len(refused) > MAX_SHOWN:
        err.print(f"… and {number(len(refused) - MAX_SHOWN)} more", markup=False)
    if refused:
        raise typer.Exit(1)


def quote(
    ctx: typer.Context,
    event_type: Annotated[str, typer.Option("--type", help="purchase, signup, review, … or a custom type.")]
    = "purchase",
    member: Annotated[str | None, typer.Option(help="Member id.")] = None,
    amount: Annotated[int | None, typer.Option(help="Amount in minor units of the program's currency.")] = None,
    order: Annotated[str | None, typer.Option(help="Order id.")] = None,
    category: Annotated[list[str] | None, typer.Option(
        help="An item category (repeatable). One category: the whole amount is its item's; several: "
             "items without amounts (use --event to give each item's amount).")] = None,
    event: Annotated[str | None, typer.Option(help="The whole event as JSON instead (as POST /events takes it).")]
    = None,
    program: Annotated[str | None, typer.Option(help="Program id (default: the only program).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What an event would earn now, by the rules in force. Nothing is written."""
    services = state(ctx).open()
    try:
        program_id = resolve_program(services, program)
        if event is not None:
            parsed = _event(event)
        else:
            currency = services.programs.get_program(program_id).currency
            categories = category or []
            # One category is the whole order's: its item carries the amount, which a
            # category challenge's spend counts. Several cannot be split without saying how.
            items = [{"category": c, **({"amount": amount} if amount and len(categories) == 1 else {})}
                     for c in categories]
            raw: dict[str, Any] = {"event_id": "quote", "type": event_type, "member_id": member, "order_id": order,
                                   "items": items}
            if amount is not None:
                raw["amount"] = {"amount": amount, "currency": currency}
            parsed = _event(json.dumps({k: v for k, v in raw.items() if v is not None}))
        result = services.events.quote(program_id, parsed)
    finally:
        services.db.dispose()
    if as_json:
        print_json(result)
        return
    if not result["effects"]["points"]:
        out.print("No points for this event.", markup=False)
    for award in result["effects"]["points"]:
        to = "" if award["member_id"] == result["member_id"] else f" (to {award['member_id']})"
        out.print(f"{number(award['points']):>10}  {award['rule_id']}{to}", markup=False)
    out.print(f"{number(result['total_points']):>10}  in all, by ruleset {result['ruleset'][:19]}…", markup=False)
    for held in result["withheld"]:
        out.print(f"  withheld {number(held['points'])} ({held['rule_id']}): {held['reason']}", markup=False)



