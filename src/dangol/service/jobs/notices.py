"""The notification jobs: expiry warnings and monthly statements. Each writes outbox rows
keyed by what they tell (member, expiry date; member, month), so a run repeated, resumed or
racing another tells each thing once."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from ...storage.database import Database
from ...storage.engagement_repository import EngagementBook
from ...storage.jobs_repository import JobsRepository
from ...storage.ledger_repository import LedgerRepository
from ...storage.notifications_repository import NotificationsRepository
from ..notifications import outbox
from ..notifications.messages import policy_for
from ..receipts import iso


def expiry_warnings(db: Database, program_id: str, now: datetime) -> dict[str, int]:
    """A `points.expiring` notice per member and day on which points expire within the
    program's warning window (7 days by default) from `now`; the day is the member's own, in
    their profile's time zone (UTC without one), as the e-mail will say it."""
    with db.write() as conn:
        LedgerRepository(conn).get_program(program_id)
        days = policy_for(NotificationsRepository(conn), program_id, now).expiry_warning_days
        by_day: dict[tuple[str, date], tuple[int, datetime]] = {}
        expiring = JobsRepository(conn).expiring(program_id, now, now + timedelta(days=days))
        zones = EngagementBook(conn, program_id, write=False)
        zones.load_zones({member_id for member_id, _, _ in expiring})
        for member_id, expires_at, points in expiring:
            key = (member_id, expires_at.astimezone(ZoneInfo(zones.time_zone(member_id))).date())
            total, first = by_day.get(key, (0, expires_at))
            by_day[key] = (total + points, min(first, expires_at))
        notices = [outbox.Notice(program_id, "points.expiring", member_id,
                                 {"member_id": member_id, "points": points, "expires_on": day.isoformat(),
                                  "expires_at": iso(first)}, now, key=f"points.expiring:{program_id}:{member_id}:{day}")
                   for (member_id, day), (points, first) in sorted(by_day.items())]
        new = outbox.write_once(conn, notices)
    return {"members_warned": new, "already_warned": len(notices) - new, "window_days": days}


def month_before(now: datetime) -> tuple[datetime, datetime, str]:
    first = now.astimezone(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    previous = (first - timedelta(days=1)).replace(day=1)
    return previous, first, previous.strftime("%Y-%m")


def monthly_statements(db: Database, program_id: str, now: datetime) -> dict[str, object]:
    """A `statement.monthly` notice per member with movements in the calendar month (UTC)
    before `now`'s."""
    start, end, month = month_before(now)
    with db.write() as conn:
        LedgerRepository(conn).get_program(program_id)
        repo = JobsRepository(conn)
        moved = repo.movements(program_id, start, end)
        balances = repo.available(sorted(moved)) if moved else {}
        notices = []
        for member_id, kinds in sorted(moved.items()):
            totals = defaultdict(int, kinds)
            notices.append(outbox.Notice(program_id, "statement.monthly", member_id, {
                "member_id": member_id, "month": month, "earned": totals["earn"], "redeemed": totals["redeem"],
                "expired": totals["expire"], "balance": balances.get(member_id, 0)}, now,
                key=f"statement.monthly:{program_id}:{member_id}:{month}"))
        new = outbox.write_once(conn, notices)
    return {"month": month, "statements": new, "already_sent": len(notices) - new}
