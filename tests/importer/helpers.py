"""Writing event files and reading the ledger back, for the importer's tests."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from dangol.storage import tables as t
from dangol.storage.database import Database

LEDGER_TABLES = (t.members, t.transactions, t.postings, t.lots, t.lot_movements, t.holds, t.refunds,
                 t.idempotency_keys)
COLUMNS = ["event_id", "type", "member", "occurred_at", "points", "amount", "currency", "order_ref", "reason",
           "to_member", "hold_event", "available_at", "expires_at", "timeout_seconds"]


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    return path


def write_csv(path: Path, events: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for event in events:
            writer.writerow(event)
    return path


def row_counts(db: Database) -> dict[str, int]:
    with db.read() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in LEDGER_TABLES}


def balances_by_ref(db: Database, program_id: str) -> dict[str, tuple[str, int, int, int, int]]:
    """external ref -> (status, available, pending, held, debt), the cached balances
    that `dangol check` proves equal to the postings."""
    m = t.members
    with db.read() as conn:
        rows = conn.execute(select(m.c.external_ref, m.c.status, m.c.available, m.c.pending, m.c.held, m.c.debt)
                            .where(m.c.program_id == program_id))
        return {ref: (status, available, pending, held, debt) for ref, status, available, pending, held, debt in rows}
