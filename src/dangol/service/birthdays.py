"""The daily birthday job: a `birthday` event for each member of a program whose birthday
is today in their own time zone, sent through the events service (whose rules decide the
bonus). The event id is derived from the member and the year, so the job may run any
number of times a day, on any number of machines: a birthday already recorded is not sent
again (its time, now, would differ), and the events endpoint, idempotent by event id,
records one birthday per member per year. 29 February is 28 February in other
years (engagement/birthdays.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..domain.clock import Clock, SystemClock
from ..engagement import birthday_event_id, is_birthday
from ..storage import tables as t
from ..storage.database import Database
from ..storage.engagement_repository import EngagementRepository
from ..storage.events_repository import EventsRepository
from ..storage.ledger_repository import LedgerRepository
from .receipts import iso

# The events service's entry: send_event(program_id, events API body). The container wires
# `Services.send_event` (the events service, in-process); tests may pass a recorder.
SendEvent = Callable[[str, dict[str, Any]], Any]


@dataclass
class BirthdayRun:
    program_id: str
    checked: int = 0
    sent: list[str] = field(default_factory=list)  # event ids
    recorded: list[str] = field(default_factory=list)  # event ids recorded by an earlier run, not sent

    def as_json(self) -> dict[str, Any]:
        return {"program_id": self.program_id, "members_checked": self.checked, "events": self.sent,
                "already_recorded": self.recorded}


class BirthdayJob:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def run(self, program_id: str, send_event: SendEvent, on: date | None = None,
            progress: Callable[[int], None] | None = None) -> BirthdayRun:
        """`on`: treat this as every member's local date (a missed day re-run); default:
        today in each member's time zone. Closed and suspended members get no event."""
        now = self.clock.now()
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            profiles = EngagementRepository(conn).profiles(program_id, with_birthday=True)
            active = set(conn.execute(select(t.members.c.id).where(
                t.members.c.program_id == program_id, t.members.c.status == "active")).scalars())
        run = BirthdayRun(program_id)
        with self.db.read() as conn:
            recorded = EventsRepository(conn).recorded_ids(program_id, [
                birthday_event_id(p.member_id, (on or now.astimezone(ZoneInfo(p.time_zone)).date()).year)
                for p in profiles])
        for profile in profiles:
            run.checked += 1
            zone = ZoneInfo(profile.time_zone)
            today = on or now.astimezone(zone).date()
            assert profile.birthday_month is not None and profile.birthday_day is not None
            if profile.member_id in active and is_birthday(profile.birthday_month, profile.birthday_day, today):
                # A re-run for a past day says when that day began for the member; never the future.
                occurred = now if on is None else min(now, datetime.combine(today, time(), zone))
                event_id = birthday_event_id(profile.member_id, today.year)
                if event_id in recorded:
                    run.recorded.append(event_id)
                else:
                    send_event(program_id, {"event_id": event_id, "type": "birthday",
                                            "member_id": profile.member_id, "occurred_at": iso(occurred)})
                    run.sent.append(event_id)
            if progress is not None:
                progress(1)
        return run
