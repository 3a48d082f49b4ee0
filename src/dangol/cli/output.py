"""Where the CLI writes: results to stdout, errors and progress to stderr."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn, DownloadColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn,
    TimeElapsedColumn, TimeRemainingColumn,
)

# Rich decides colour and width per stream, so piping stdout keeps it plain.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def minute(moment: datetime | None) -> str:
    """To the minute, in UTC, to fit a terminal: `--json` has the exact times."""
    return "" if moment is None else moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


def print_json(value: Any) -> None:
    out.print_json(json.dumps(value, ensure_ascii=False, default=str))


# Progress bars only on a terminal: in a pipe or a log they would be noise.
def byte_progress(description: str) -> Progress:
    return Progress(SpinnerColumn(), TextColumn(description), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal)


def count_progress(description: str) -> Progress:
    return Progress(SpinnerColumn(), TextColumn(description), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=True, disable=not err.is_terminal)


def phase_progress() -> Progress:
    """Work in phases of their own units (pages, tables, bytes): a bar each, named by its task."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True,
                    disable=not err.is_terminal)


def number(value: int) -> str:
    return f"{value:,}"


def plural(count: int, one: str, many: str) -> str:
    return f"{number(count)} {one if count == 1 else many}"
