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


# The calendar windows last found, per (kind, time zone), newest first. Calendar windows
# partition the time line, so a window holding `moment` is the answer whoever asked: the
# cache cannot go stale. Evaluations ask for the same few windows (the current quarter,
# the one before) hundreds of thousands of times a run; working one out costs three time
# zone conversions. A tuple replaced whole: threads sharing it see one or the other.
_RECENT = 8
_recent: dict[tuple[WindowKind, str], tuple[Window, ...]] = {}


def window_at(ladder: Ladder, moment: datetime) -> Window:
    """The calendar window holding `moment`; for a rolling ladder, the N days that start at
    `moment` (the period a tier reached at `moment` is held before it is reviewed)."""
    if ladder.window is WindowKind.ROLLING:
        return Window(moment, moment + timedelta(days=ladder.rolling_days))
    key = (ladder.window, ladder.time_zone)
    recent = _recent.get(key, ())
    for window in recent:
        if window.start <= moment < window.end:
            return window
    window = _calendar(ladder, moment)
    _recent[key] = (window, *recent[:_RECENT - 1])
    return window


def _calendar(ladder: Ladder, moment: datetime) -> Window:
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
