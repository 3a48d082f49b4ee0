"""`dangol backup` and `dangol restore`: the database, with its key files, to one file and back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.filesize import decimal
from rich.progress import TaskID

from ..service.backup import DATA_KEYS, BackupService, KeyOutcome
from ..storage.backups import Manifest, Progress
from .context import state
from .output import number, out, phase_progress


@contextmanager
def phases() -> Iterator[Progress]:
    """A progress bar for each phase of the work, as it begins."""
    with phase_progress() as bars:
        tasks: dict[str, TaskID] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bars.add_task(phase, total=total)
            bars.update(tasks[phase], completed=done, total=total)

        yield report


def summary(manifest: Manifest) -> str:
    return (f"schema {manifest.schema_revision}: {number(manifest.rows('members'))} members, "
            f"{number(manifest.rows('transactions'))} transactions, {number(manifest.rows('log_entries'))} log entries")


def backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The backup file to write (it must not exist).", show_default=False)],
    keys: Annotated[bool, typer.Option(
        "--keys/--no-keys", help="Put the key files (the log's signer key, the members' key-encryption keys) in the "
                                "backup (secrets: the file then is one too).")] = True,
) -> None:
    """Back up the database, and its key files, to a new file, while it is in use.

    SQLite through its online backup API, PostgreSQL through pg_dump (custom format). See
    docs/operations.md for the runbook."""
    cli = state(ctx)
    with phases() as progress:
        report = BackupService(cli.database_url).backup(file, keys=keys, progress=progress)
    out.print(f"Backed up {cli.shown_url} ({summary(report.manifest)}) to {file} ({decimal(report.size)}).",
              markup=False)
    if len(report.taken) == 1:
        out.print(f"It holds {report.taken[0].name}, a secret: keep the backup file as safe as the key itself.",
                  markup=False)
    elif report.taken:
        names = " and ".join(key.name for key in report.taken)
        out.print(f"It holds {names}, secrets: keep the backup file as safe as the keys themselves.", markup=False)
    for key in report.left_out:
        out.print(f"It holds no keys (--no-keys): keep {key.name} ({key.path}) safe apart, a restore needs it.",
                  markup=False)
    for key in report.absent:
        out.print(f"There is no key file {key.path} ({key.name}) yet: the backup holds none.", markup=False)
    for path in report.strangers:
        out.print(f"Not in the backup: {path} (a key file dangol does not know: copy it yourself if it belongs "
                  f"with the database).", markup=False)


def restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A file `dangol backup` wrote.", show_default=False)],
    force: Annotated[bool, typer.Option(
        "--force", help="Replace everything the database holds (and a key file of another log, kept beside).")] = False,
) -> None:
    """Restore a backup into the database (empty, unless --force), with its key files.

    Checks the whole file first and changes nothing when it is damaged, of another engine or
    of a newer schema; an older schema is migrated after the restore."""
    cli = state(ctx)
    with phases() as progress:
        report = BackupService(cli.database_url).restore(file, force=force, progress=progress)
    manifest = report.manifest
    taken = manifest.created_at.isoformat().replace("+00:00", "Z")
    out.print(f"Restored {file} into {cli.shown_url}: {summary(manifest)} (backed up from {manifest.source} "
              f"at {taken}).", markup=False)
    if report.migrated_to:
        out.print(f"Migrated it from schema {manifest.schema_revision} to {report.migrated_to}.", markup=False)
    for outcome in report.keys:
        line = key_line(outcome)
        if line:
            out.print(line, markup=False)


def key_line(outcome: KeyOutcome) -> str | None:
    name, path = outcome.key.name[0].upper() + outcome.key.name[1:], outcome.key.path
    if outcome.key.role == DATA_KEYS and outcome.outcome in ("in place", "missing"):
        return {
            "in place": f"{name}: not in the backup; members' personal data opens only if the ones at {path} are "
                        f"the backup's.",
            "missing": f"{name}: not in the backup, and there are none at {path}: put the key file kept apart there "
                       f"before anything reads or writes personal data (new keys would not open members' data).",
        }[outcome.outcome]
    return {
        "restored": f"{name}: restored to {path}.",
        "unchanged": f"{name}: {path} holds it already.",
        "replaced": f"{name}: restored to {path}; the key that was there is kept as {outcome.kept}.",
        "in place": f"{name}: not in the backup; the one at {path} is the backup's log's.",
        "missing": f"{name}: not in the backup, and there is none at {path}: put the log's key file there before "
                   f"anything signs (a new key would sign checkpoints that auditors reject).",
    }.get(outcome.outcome)
