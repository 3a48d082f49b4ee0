"""Qualification windows: calendar quarters and years in the ladder's time zone, or a
rolling number of days. A window is a half-open UTC interval [start, end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from .ladder import Ladder, WindowKind


@dataclass(frozen=True, slots=True, order=True)
class Window:
    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def window_at(ladder: Ladder, moment: datetime) -> Window:
    """The calendar window holding `moment`; for a rolling ladder, the N days that start at
    `moment` (the period a tier reached at `moment` is held before it is reviewed)."""
    if ladder.window is WindowKind.ROLLING:
        return Window(moment, moment + timedelta(days=ladder.rolling_days))
    zone = ZoneInfo(ladder.time_zone)
    local = moment.astimezone(zone)
    if ladder.window is WindowKind.YEAR:
        start, end = (local.year, 1), (local.year + 1, 1)
    else:
        first = 3 * ((local.month - 1) // 3) + 1
        start = (local.year, first)
        end = (local.year + 1, 1) if first == 10 else (local.year, first + 3)
    return Window(_utc(start, zone), _utc(end, zone))


def _utc(year_month: tuple[int, int], zone: ZoneInfo) -> datetime:
    year, month = year_month
    return datetime(year, month, 1, tzinfo=zone).astimezone(timezone.utc)
