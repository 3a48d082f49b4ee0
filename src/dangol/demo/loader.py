"""`dangol demo`: the example program with a year of synthetic history, loaded the way a
brand would run it: the example ruleset published (effective from the history's start),
the business events (signups, purchases, reviews, referrals, refunds, birthdays) sent
through the events service, which applies the rules, tiers and engagement, and what no rule
decides (redemptions, holds, gifts, adjustments, closures) imported as ledger events; then
an expiry run. Consecutive business events go in batches (`record_many`), in the history's
order with the ledger events between them."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..domain import FixedClock
from ..domain.errors import DomainError
from ..importer import ImportReport
from ..importer.runner import Importer, Reject
from ..service.container import Services
from ..service.events import EventInput
from ..service.example_program import launch_ruleset
from ..service.expiry import ExpiryReport
from ..service.rulesets import RulesetService
from ..storage.events_repository import EventsRepository
from ..storage.rulesets_repository import RulesetRepository
from .generator import BUSINESS, generate_events
from .program import PROGRAM_ID, ensure_program
from .totals import ProgramTotals, program_totals

BATCH = 1_000  # business events sent in one transaction


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
    """Loads the demo; loading it again with the same options changes nothing (a business
    event already recorded is not sent again; ledger events are idempotent by their keys).
    `progress(events_done, total)`."""
    created = ensure_program(services)
    events = generate_events(members, seed, services.clock.now())
    if events_path is not None:
        write_events(events, events_path)
    if events:
        publish_example(services, datetime.fromisoformat(str(events[0]["occurred_at"])))
    report = ImportReport(str(events_path or "demo"))
    with services.db.read() as conn:
        recorded = EventsRepository(conn).recorded_ids(
            PROGRAM_ID, [str(e["event_id"]) for e in events if e["type"] in BUSINESS])
    importer = Importer(services, PROGRAM_ID, batch_size=1_000)
    codes: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="dangol-demo-") as scratch:
        chunk: list[dict[str, Any]] = []
        pending: list[tuple[int, EventInput]] = []
        for done, event in enumerate(events, start=1):
            if event["type"] not in BUSINESS:
                _send(services, pending, report)
                chunk.append(event)
            else:
                _import(importer, chunk, Path(scratch) / "ledger.jsonl", report)
                _queue(services, event, done, recorded, codes, pending, report)
            if progress is not None and done % 50 == 0:
                progress(done, len(events))
        _send(services, pending, report)
        _import(importer, chunk, Path(scratch) / "ledger.jsonl", report)
    if progress is not None:
        progress(len(events), len(events))
    expiry = services.expiry.run(PROGRAM_ID)
    return DemoResult(created, len(events), report, expiry, program_totals(services.db, PROGRAM_ID))


def publish_example(services: Services, start: datetime) -> None:
    """The example ruleset, published as the program did when its history began (unless the
    program has rulesets already), its launch week the history's first: the publication's
    clock is the history's start, since rules are never published retroactively."""
    with services.db.read() as conn:
        if RulesetRepository(conn).all(PROGRAM_ID):
            return
    RulesetService(services.db, FixedClock(start)).publish(PROGRAM_ID, launch_ruleset(PROGRAM_ID, start))


def _import(importer: Importer, chunk: list[dict[str, Any]], path: Path, report: ImportReport) -> None:
    """The ledger events since the last business event, through the importer."""
    if not chunk:
        return
    write_events(chunk, path)
    chunk.clear()
    part = importer.run(path, "jsonl")
    report.events += part.events
    report.applied += part.applied
    report.replayed += part.replayed
    report.duplicates += part.duplicates
    report.rejected += part.rejected
    report.batches += part.batches
    report.seconds += part.seconds
    report.rejects += part.rejects[:max(0, 20 - len(report.rejects))]


def _queue(services: Services, event: dict[str, Any], line: int, recorded: set[str], codes: dict[str, str],
           pending: list[tuple[int, EventInput]], report: ImportReport) -> None:
    """The business event, queued to be sent with the ones after it (the queue is sent when
    it is full, and before anything that must see its effects)."""
    report.events += 1
    if event["event_id"] in recorded:  # an earlier load: its history ended at another `now`
        report.replayed += 1
        return
    body = {k: v for k, v in event.items() if k != "referrer"}
    if event["type"] == "referral":
        referrer = str(event["referrer"])
        if referrer not in codes:
            _send(services, pending, report)  # a referral code needs its member enrolled: perhaps by a queued signup
            try:
                codes[referrer] = services.referrals.code_for(PROGRAM_ID, referrer)["referral_code"]
            except DomainError as error:
                _reject(report, line, str(event["event_id"]), error)
                return
        body["referral_code"] = codes[referrer]
    pending.append((line, EventInput.from_json(body)))
    if len(pending) >= BATCH:
        _send(services, pending, report)


def _send(services: Services, pending: list[tuple[int, EventInput]], report: ImportReport) -> None:
    """The queued business events, in one batch: each counted as if it had been sent alone."""
    if not pending:
        return
    outcomes = services.events.record_many(PROGRAM_ID, [event for _, event in pending])
    for (line, event), outcome in zip(pending, outcomes):
        if isinstance(outcome, DomainError):
            _reject(report, line, event.event_id, outcome)
        else:
            report.applied += 1
    pending.clear()


def _reject(report: ImportReport, line: int, event_id: str, error: DomainError) -> None:
    report.rejected += 1
    if len(report.rejects) < 20:
        report.rejects.append(Reject(line, event_id, error.code, error.detail))
