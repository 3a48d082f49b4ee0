"""What engagement needs to know of a member beyond the ledger: the name they chose for
leaderboards (and whether they want to be on them), their birthday and time zone."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Profile:
    member_id: str
    display_name: str | None = None
    leaderboard_opt_in: bool = False
    birthday_month: int | None = None
    birthday_day: int | None = None
    time_zone: str = "UTC"
