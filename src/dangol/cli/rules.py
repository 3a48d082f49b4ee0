"""`dangol rules`: validate, hash, publish and show rulesets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..domain.errors import InvalidRulesetDocument
from ..rules import ruleset_hash
from ..service.rulesets import parse_document, validation_json
from .context import parse_time, resolve_program, state
from .output import err, out, print_json

app = typer.Typer(help="Validate, hash, publish and show earning rules (docs/rules.md).", no_args_is_help=True)
FileArg = Annotated[Path, typer.Argument(metavar="FILE", help="A ruleset document, .yaml or .json.",
                                         show_default=False)]


def _read(path: Path) -> tuple[str, str]:
    return path.read_text(encoding="utf-8"), "json" if path.suffix.lower() == ".json" else "yaml"


@app.command("validate")
def validate(path: FileArg, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Check a ruleset document: every mistake with its line and field (exit 1), or its hash."""
    text, fmt = _read(path)
    try:
        ruleset = parse_document(text, fmt)
    except InvalidRulesetDocument as error:
        problems = error.problems
        if as_json:
            print_json({"valid": False, "problems": problems})
        else:
            for problem in problems:
                line = f"line {problem['line']}, " if problem["line"] else ""
                column = f" (column {problem['column']} of the expression)" if problem["column"] else ""
                err.print(f"{path}: {line}{problem['field']}: {problem['message']}{column}", markup=False)
            err.print(f"{len(problems)} problem(s) in {path}", markup=False)
        raise typer.Exit(1) from None
    result = validation_json(ruleset)
    if as_json:
        print_json(result)
    else:
        out.print(f"{path}: valid, {result['rules']} rules, {result['hash']}", markup=False)


@app.command("hash")
def hash_(path: FileArg) -> None:
    """Print a ruleset's content hash (sha256 of its canonical JSON)."""
    text, fmt = _read(path)
    out.print(ruleset_hash(parse_document(text, fmt)), markup=False)


@app.command("publish")
def publish(
    ctx: typer.Context,
    path: FileArg,
    program: Annotated[str | None, typer.Option(help="Program id (default: the only program).")] = None,
    effective_from: Annotated[str | None, typer.Option(
        "--effective-from", help="When it takes effect (ISO 8601 with a zone); default: the document's.")] = None,
    urgent: Annotated[bool, typer.Option("--urgent", help="A worsening change without notice (needs --reason).")]
    = False,
    reason: Annotated[str | None, typer.Option(help="Why an urgent change cannot wait; shown to members.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Publish a ruleset: never retroactive; a worsening change needs the program's notice."""
    text, fmt = _read(path)
    at = parse_time(effective_from, "--effective-from") if effective_from else None
    services = state(ctx).open()
    try:
        program_id = resolve_program(services, program)
        result = services.rulesets.publish(program_id, text, format=fmt, effective_from=at, urgent=urgent,
                                           reason=reason)
    finally:
        services.db.dispose()
    if as_json:
        print_json(result)
        return
    out.print(f"Published ruleset #{result['number']} {result['version']!r} of {program_id}: {result['hash']}, "
              f"effective from {result['effective_from']}" + (" (urgent)" if result["urgent"] else ""), markup=False)
    for change in result["changes"]:
        mark = "worse" if change["worsens"] else "     "
        out.print(f"  {mark} {change['rule'] or '(ruleset)'}: {change['change']}", markup=False)


@app.command("show")
def show(
    ctx: typer.Context,
    program: Annotated[str | None, typer.Option(help="Program id (default: the only program).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The program's rulesets, newest first: in force, upcoming, superseded, with their changes."""
    services = state(ctx).open()
    try:
        program_id = resolve_program(services, program)
        history = services.rulesets.history(program_id)
    finally:
        services.db.dispose()
    if as_json:
        print_json(history)
        return
    table = Table(title=f"Rulesets of {program_id} (notice: {history['policy']['notice_days']} days)")
    for column in ("#", "status", "version", "effective from", "hash", "changes"):
        table.add_column(column, overflow="fold")
    for item in history["items"]:
        changes = "; ".join(("[worse] " if c["worsens"] else "") + (f"{c['rule']}: " if c["rule"] else "")
                            + c["change"] for c in item["changes"])
        if item["urgent"]:
            changes = f"URGENT ({item['urgent_reason']}) " + changes
        table.add_row(str(item["number"]), item["status"], item["version"], item["effective_from"],
                      item["hash"][:19] + "…", changes or "-")
    out.print(table)
