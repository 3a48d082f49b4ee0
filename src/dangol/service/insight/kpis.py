"""Program KPIs per day, week or month (dangol.insight.kpis), from daily aggregates read in
one transaction. KPIs are aggregates of the whole program: they count every member, as the
books do, and name none."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from ...domain.clock import Clock, SystemClock
from ...domain.errors import InvalidRequest
from ...insight.kpis import DailyFacts, PointValue, day_of, kpis
from ...storage.database import Database
from ...storage.insight_reads import daily_enrolments, daily_postings, member_activity_days, purchases, tier_counts
from ...storage.ledger_repository import LedgerRepository

DEFAULT_DAYS = 90


def _members(rows: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray]:
    numbers: dict[str, int] = {}
    member = np.array([numbers.setdefault(m, len(numbers)) for m, _ in rows], dtype=np.int64)
    return member, np.array([d for _, d in rows], dtype=np.int64)


class ProgramKpis:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def report(self, program_id: str, period: str = "month", start: date | None = None, end: date | None = None,
               point_value: PointValue | None = None) -> dict[str, Any]:
        """KPIs of [start, end] (UTC days; by default the last 90 days to today)."""
        last = day_of(end) if end else day_of(self.clock.now().date())
        first = day_of(start) if start else last - DEFAULT_DAYS + 1
        if last < first:
            raise InvalidRequest("`to` is before `from`", field="to")
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            postings = daily_postings(conn, program_id)
            enrolments = daily_enrolments(conn, program_id)
            activity = member_activity_days(conn, program_id)
            bought = purchases(conn, program_id)
            tiers = tier_counts(conn, program_id)
        active_member, active_day = _members(activity)
        purchase_member, purchase_day = _members([(m, day_of(at.date())) for m, at, _ in bought])
        facts = DailyFacts(postings, enrolments, active_member, active_day, purchase_member, purchase_day,
                           np.array([amount for _, _, amount in bought], dtype=np.int64))
        answer = kpis(facts, first, last, period, point_value or PointValue(), tiers)
        return {"program_id": program_id, **answer}
