"""`dangol check`: recompute every balance from the postings and report disagreements."""

from __future__ import annotations

from typing import Annotated

import typer

from .context import state
from .output import number, out, print_json


def check(ctx: typer.Context,
          as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Check every balance against the postings.

    Exit code 0 when the books balance, 1 with every mismatch listed."""
    services = state(ctx).open()
    try:
        report = services.check.run()
    finally:
        services.db.dispose()
    counts = f"{number(report.transactions)} transactions, {number(report.members)} members, {number(report.lots)} lots"
    if as_json:
        print_json({"ok": report.ok, "transactions": report.transactions, "members": report.members,
                    "lots": report.lots, "mismatches": [str(m) for m in report.mismatches]})
    elif report.ok:
        out.print(f"OK: the books balance ({counts}).")
    else:
        for mismatch in report.mismatches:
            out.print(f"mismatch: {mismatch}", markup=False, soft_wrap=True)
        out.print(f"FAILED: {number(len(report.mismatches))} mismatches ({counts}).")
    if not report.ok:
        raise typer.Exit(1)
