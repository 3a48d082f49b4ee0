"""`dangol import`: load an event file (CSV or JSON Lines) into a program's ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..importer import ImportReport, Importer
from .context import resolve_program, state
from .log import integrate_log
from .output import byte_progress, err, number, out, plural


def import_events(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The event file (.csv, .jsonl or .ndjson).", show_default=False)],
    program: Annotated[str | None, typer.Option(help="Program id (default: the only program).")] = None,
    file_format: Annotated[str | None, typer.Option(
        "--format", help="csv or jsonl (default: from the file's extension).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=100_000, help="Events per database transaction.")] = 1_000,
    rejects: Annotated[Path | None, typer.Option(
        help="Write every rejected event, with the reason, to this JSON Lines file (as each batch is committed).")] = None,
    retry_rejected: Annotated[bool, typer.Option(
        "--retry-rejected", help="Retry events an earlier import of this file rejected.")] = False,
    show: Annotated[int, typer.Option(min=0, help="How many rejected events to list.")] = 20,
) -> None:
    """Import events from a CSV or JSON Lines file.

    Safe to run again: what was imported is not imported twice, and an import that was
    interrupted completes. Exit code 1 when events were rejected (they are listed)."""
    services = state(ctx).open()
    try:
        program_id = resolve_program(services, program)
        rejects_file = rejects.open("w", encoding="utf-8") if rejects else None
        try:
            importer = Importer(services, program_id, batch_size=batch_size, max_reported=show,
                                rejects_file=rejects_file, retry_rejected=retry_rejected)
            with byte_progress(f"importing {file.name}") as progress:
                task = progress.add_task("import", total=file.stat().st_size)
                report = importer.run(file, file_format, lambda done: progress.update(task, completed=done))
        finally:
            if rejects_file:
                rejects_file.close()
        integrate_log(services)
    finally:
        services.db.dispose()
    print_report(report, program_id)
    if not report.ok:
        raise typer.Exit(1)


def print_report(report: ImportReport, program_id: str, what: str | None = None) -> None:
    # Duplicates only when there are some: most files have none, and the line stays as it was.
    duplicates = f"{plural(report.duplicates, 'duplicate', 'duplicates')}, " if report.duplicates else ""
    out.print(f"Imported {what or report.path} into program {program_id}: {number(report.events)} events, "
              f"{number(report.applied)} applied, {number(report.replayed)} already imported, {duplicates}"
              f"{number(report.rejected)} rejected ({plural(report.batches, 'batch', 'batches')}, {report.seconds:.1f} s).",
              markup=False, soft_wrap=True)
    for reject in report.rejects:
        err.print(f"rejected: {reject}", markup=False, soft_wrap=True)
    if report.rejected > len(report.rejects):
        err.print(f"… and {number(report.rejected - len(report.rejects))} more (--rejects FILE lists them all)")
