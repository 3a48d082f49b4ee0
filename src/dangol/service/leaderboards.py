"""Monthly leaderboards: members who opted in, by points earned in a calendar month of the
program's time zone (its rules policy's `default_time_zone`, UTC unless set), under the
display name they chose. Nobody who did not opt in is ever read out."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from ..domain.errors import InvalidRequest
from ..engagement import rank
from ..storage.database import Database
from ..storage.engagement_repository import EngagementRepository
from ..storage.ledger_repository import LedgerRepository
from ..storage.rulesets_repository import RulesetRepository
from .receipts import iso

MONTH = re.compile(r"(\d{4})-(\d{2})")
MAX_LIMIT = 100


def month_bounds(month: str, time_zone: str = "UTC") -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of "YYYY-MM" in `time_zone`, as UTC."""
    found = MONTH.fullmatch(month)
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1970:
        raise InvalidRequest(f"month must be YYYY-MM, such as 2025-03, not {month!r}")
    year, number = int(found.group(1)), int(found.group(2))
    zone = ZoneInfo(time_zone)
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


class Leaderboards:
    def __init__(self, db: Database) -> None:
        self.db = db

    def monthly(self, program_id: str, month: str, limit: int = 10) -> dict[str, Any]:
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidRequest(f"limit must be from 1 to {MAX_LIMIT}")
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            time_zone = RulesetRepository(conn).policy(program_id).default_time_zone
            start, end = month_bounds(month, time_zone)
            earners = EngagementRepository(conn).opted_in_earners(program_id, start, end)
        return {"program_id": program_id, "month": month, "time_zone": time_zone, "from": iso(start),
                "until": iso(end),
                "entries": [{"rank": s.rank, "display_name": s.display_name, "points": s.points}
                            for s in rank(earners, limit)]}
