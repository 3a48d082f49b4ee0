"""Writing event files and reading the ledger back, for the importer's tests."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from dangol.storage import tables as t
from dangol.storage.database import Database

LEDGER_TABLES = (t.members, t.transactions, t.postings, t.lots, t.lot_movements, t.holds, t.refunds,
                 t.idempotency_keys)
COLUMNS = ["event_id", "type", "member", "occurred_at", "points", "amount", "currency", "order_ref", "reason",
           "to_member", "hold_event", "available_at", "expires_at", "timeout_seconds"]


def at(day: int, hour: int = 10, minute: int = 0) -> str:
    """A time in March 2025, in Seoul."""
    return f"2025-03-{day:02d}T{hour:02d}:{minute:02d}:00+09:00"


def ev(event_id: str, kind: str, member: str, when: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": kind, "member": member, "occurred_at": when, **fields}


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


@dataclass
class FaultyHistory:
    """An event file (JSON Lines) of valid rows with bad ones scattered through it, and
    what importing it must give: the valid rows' balances, each bad row's reject code."""

    lines: list[str]
    bad: dict[int, str] = field(default_factory=dict)  # line -> the code it is rejected with
    duplicates: int = 0  # rows repeating an earlier row, id and content
    balances: dict[str, int] = field(default_factory=dict)  # external ref -> available points
    valid: list[str] = field(default_factory=list)  # the file with its valid rows only

    def write(self, path: Path, *, valid_only: bool = False) -> Path:
        path.write_text("".join(line + "\n" for line in (self.valid if valid_only else self.lines)),
                        encoding="utf-8")
        return path


FAULTS = ("future", "unknown-member", "malformed", "conflict", "out-of-order", "duplicate")


def faulty_history(rng: random.Random, *, events: int, members: int, faults: int, now: datetime) -> FaultyHistory:
    """`members` enrolments, then earns and redemptions in chronological order, one a
    minute up to an hour before `now`; then `faults` bad rows (and harmless duplicates) put
    in at random places. A bad row whose own time is later than the rows after it (an
    unknown member's, say) must hold none of them back."""
    start = now - timedelta(hours=1, minutes=events)
    valid: list[dict[str, Any]] = []
    balances = {f"member-{i}": 0 for i in range(members)}
    for i in range(members):
        valid.append({"event_id": f"v{i}", "type": "enroll", "member": f"member-{i}",
                      "occurred_at": (start + timedelta(minutes=i)).isoformat()})
    for i in range(members, events):
        member = f"member-{rng.randrange(members)}"
        at = (start + timedelta(minutes=i)).isoformat()
        if balances[member] >= 1_500 and rng.random() < 0.2:
            valid.append({"event_id": f"v{i}", "type": "redeem", "member": member, "occurred_at": at, "points": 1_000})
            balances[member] -= 1_000
        else:
            points = rng.randrange(1, 600)
            valid.append({"event_id": f"v{i}", "type": "earn", "member": member, "occurred_at": at, "points": points})
            balances[member] += points
    rows: list[tuple[str, dict[str, Any] | str]] = [("valid", row) for row in valid]
    for n in range(faults):
        kind = rng.choice(FAULTS)
        place = rng.randrange(members + 1, len(rows) + 1)  # after the enrolments and a first earn
        before = [row for what, row in rows[:place] if what == "valid" and isinstance(row, dict)]
        earlier = before[-1]["occurred_at"]
        bad: dict[str, Any] | str
        if kind == "future":
            bad = {"event_id": f"f{n}", "type": "earn", "member": "member-0",
                   "occurred_at": (now + timedelta(days=30)).isoformat(), "points": 5}
        elif kind == "unknown-member":
            bad = {"event_id": f"u{n}", "type": "earn", "member": f"ghost-{n}",
                   "occurred_at": (now - timedelta(minutes=30)).isoformat(), "points": 5}
        elif kind == "malformed":
            bad = rng.choice(['{"event_id": "oops', {"event_id": f"m{n}", "type": "earn", "member": "member-0",
                                                     "occurred_at": earlier, "points": "ten"}])
        elif kind == "out-of-order":
            bad = {"event_id": f"o{n}", "type": "earn", "member": "member-0",
                   "occurred_at": (datetime.fromisoformat(earlier) - timedelta(seconds=30)).isoformat(), "points": 5}
        else:
            bad = dict(rng.choice(before))
            if kind == "conflict":
                bad["occurred_at"] = earlier  # in order: only its id is wrong
                bad["reason"] = "typed twice"
        rows.insert(place, (kind, bad))
    history = FaultyHistory([line if isinstance(line, str) else json.dumps(line) for _, line in rows],
                            balances=balances, valid=[json.dumps(row) for row in valid])
    for number, (kind, _) in enumerate(rows, start=1):
        if kind == "duplicate":
            history.duplicates += 1
        elif kind != "valid":
            history.bad[number] = {"future": "validation-error", "malformed": "malformed-event",
                                   "conflict": "duplicate-event-id"}.get(kind, kind)
    return history


def expected_balances(history: FaultyHistory) -> dict[str, tuple[str, int, int, int, int]]:
    return {ref: ("active", points, 0, 0, 0) for ref, points in history.balances.items()}


class Interrupted(Exception):
    """The import stopped here, as if its process had been killed."""


@contextmanager
def interrupted_at(db: Database, statement: int) -> Iterator[None]:
    """Every SQL statement counts; the `statement`-th raises `Interrupted` instead of
    running, whatever the import was doing (a transaction in progress rolls back)."""
    sent = 0

    def count(*_: Any) -> None:
        nonlocal sent
        sent += 1
        if sent == statement:
            raise Interrupted(f"interrupted at statement {statement}")

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
