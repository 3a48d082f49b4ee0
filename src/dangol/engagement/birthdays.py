"""Birthdays: which day a birthday falls on in a given year, and the id of the one
`birthday` event a member gets that year."""

from __future__ import annotations

from calendar import isleap
from datetime import date


def birthday_on(year: int, month: int, day: int) -> date:
    """The birthday's date in `year`. 29 February falls on 28 February in other years
    (the last day of the birth month, so it is never skipped and never doubled)."""
    if month == 2 and day == 29 and not isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def is_birthday(month: int, day: int, today: date) -> bool:
    return birthday_on(today.year, month, day) == today


def birthday_event_id(member_id: str, year: int) -> str:
    """Derived from the member and the year, so a job run twice (or on two servers) raises
    the same event, which the events endpoint records once."""
    return f"birthday-{year}-{member_id}"
