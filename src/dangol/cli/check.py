"""`dangol check`: recompute every balance from the postings and report disagreements."""

from __future__ import annotations

from typing import Annotated

import typer

from .context import state
from .output import number, out, print_json


def check(ctx: typer.Context,
          as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Check every balance against the postings, and the transparency log against the ledger.

    Exit code 0 when the books balance and the log matches them, 1 with every mismatch listed."""
    services = state(ctx).open()
    try:
        report = services.check.run()
        log = services.log_check.run()
    finally:
        services.db.dispose()
    counts = f"{number(report.transactions)} transactions, {number(report.members)} members, {number(report.lots)} lots"
    log_counts = f"{number(log.entries)} entries, {number(log.tree_size)} leaves, {number(log.checkpoints)} checkpoints"
    first = log.first_bad
    if as_json:
        print_json({"ok": report.ok and log.ok, "transactions": report.transactions, "members": report.members,
                    "lots": report.lots, "mismatches": [str(m) for m in report.mismatches],
                    "log": {"ok": log.ok, "entries": log.entries, "tree_size": log.tree_size,
                            "checkpoints": log.checkpoints, "problems": [str(p) for p in log.problems],
                            "first_bad": None if first is None else {
                                "index": first.index, "leaves": first.leaves, "sequence": first.sequence,
                                "transaction": first.transaction, "problem": first.what}}})
    else:
        if report.ok:
            out.print(f"OK: the books balance ({counts}).")
        else:
            for mismatch in report.mismatches:
                out.print(f"mismatch: {mismatch}", markup=False, soft_wrap=True)
            out.print(f"FAILED: {number(len(report.mismatches))} mismatches ({counts}).")
        if log.ok:
            out.print(f"OK: the log matches the ledger ({log_counts}).")
        else:
            for problem in log.problems:
                out.print(f"log: {problem}", markup=False, soft_wrap=True)
            out.print(f"FAILED: {number(len(log.problems))} log problems ({log_counts}); "
                      f"the first bad entry: {first}.", markup=False, soft_wrap=True)
    if not (report.ok and log.ok):
        raise typer.Exit(1)
