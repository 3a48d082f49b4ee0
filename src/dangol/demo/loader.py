"""`dangol demo`: the example program with a year of synthetic history, loaded the way a
brand would load its own: as an event file through the importer, then an expiry run."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..importer import ImportReport, import_file
from ..service.container import Services
from ..service.expiry import ExpiryReport
from .generator import generate_events
from .program import PROGRAM_ID, ensure_program
from .totals import ProgramTotals, program_totals


@dataclass(frozen=True, slots=True)
class DemoResult:
    program_created: bool
    events: int
    imported: ImportReport
    expiry: ExpiryReport
    totals: ProgramTotals


def write_events(events: list[dict[str, object]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for event in events:
            out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")


def load_demo(services: Services, members: int = 300, seed: int = 42, *, events_path: Path | None = None,
              progress: Callable[[int, int], None] | None = None) -> DemoResult:
    """Loads the demo; loading it again with the same options changes nothing, because
    every event is imported under its own idempotency key. `progress(bytes_done, total)`."""
    created = ensure_program(services)
    events = generate_events(members, seed, services.clock.now())
    with tempfile.TemporaryDirectory(prefix="dangol-demo-") as scratch:
        path = events_path or Path(scratch) / "demo-events.jsonl"
        write_events(events, path)
        size = path.stat().st_size
        imported = import_file(services, PROGRAM_ID, path, "jsonl", batch_size=1_000,
                               progress=(lambda done: progress(done, size)) if progress else None)
    expiry = services.expiry.run(PROGRAM_ID)
    return DemoResult(created, len(events), imported, expiry, program_totals(services.db, PROGRAM_ID))
