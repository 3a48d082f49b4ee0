"""Member profiles: the facts rules read that the ledger does not hold (time zone, birthday,
tags) and what engagement shows (display name, leaderboard opt-in). Pseudonymous: no name
or contact, only a display name the member chose."""

from __future__ import annotations

import dataclasses
from calendar import monthrange
from typing import Any

from ..domain.clock import Clock, SystemClock
from ..domain.errors import InvalidRequest
from ..privacy.consent import ConsentChange, ConsentSource, Purpose
from ..privacy.erasure import MemberErased
from ..storage.database import Database
from ..storage.facts_repository import FactsRepository, Profile
from ..storage.ledger_repository import LedgerRepository
from ..storage.privacy_repository import PrivacyRepository
from .privacy.consents import save_change
from .reads import _check_member
from .remembered import Remembered
from .rulesets import require_time_zone

FIELDS = ("time_zone", "birthday_month", "birthday_day", "tags", "display_name", "leaderboard_opt_in")


def profile_json(profile: Profile) -> dict[str, Any]:
    return {"time_zone": profile.time_zone, "birthday_month": profile.birthday_month,
            "birthday_day": profile.birthday_day, "tags": list(profile.tags), "display_name": profile.display_name,
            "leaderboard_opt_in": profile.leaderboard_opt_in}


class ProfileService:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def read(self, program_id: str, member_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            return profile_json(FactsRepository(conn).profile(member_id))

    def update(self, program_id: str, member_id: str, changes: dict[str, Any],
               idempotency_key: str | None = None) -> dict[str, Any]:
        """Sets the fields in `changes` (None clears an optional one); the others stay."""
        unknown = sorted(set(changes) - set(FIELDS))
        if unknown:
            raise InvalidRequest(f"unknown profile field(s): {', '.join(unknown)}")
        # Another request storing the same key first (for another member): answer from its row.
        return self.db.retrying_races(lambda: self._update(program_id, member_id, changes, idempotency_key))

    def _update(self, program_id: str, member_id: str, changes: dict[str, Any],
                idempotency_key: str | None) -> dict[str, Any]:
        with self.db.write() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            repo = FactsRepository(conn)
            # Locked (PostgreSQL) as the events judging this member lock it: the change is then
            # stamped, by the clock, before or after them, as it was made (replay's order).
            repo.lock_members([member_id])
            # The key only now: a retry sent while its original was in flight has waited for it
            # on the lock, and finds its answer.
            remembered = Remembered(conn, program_id, idempotency_key, {"profile": member_id, **changes})
            previous = remembered.previous()
            if previous is not None:
                # Stored with the member's id (an erasure finds and clears it); earlier answers without.
                return dict(previous["profile"] or {}) if "member_id" in previous else dict(previous)
            if PrivacyRepository(conn).erasure(member_id) is not None:
                raise MemberErased(f"member {member_id} was erased: their profile cannot be set again")
            values = dict(changes)
            if "tags" in values:
                values["tags"] = tuple(sorted(set(values["tags"] or ())))
            if values.get("leaderboard_opt_in", False) is None:
                values["leaderboard_opt_in"] = False
            profile = dataclasses.replace(repo.profile(member_id), **values)
            _check(profile)
            now = self.clock.now()
            repo.save_profile(program_id, profile, now)
            if "leaderboard_opt_in" in changes:  # the opt-in is the member's consent to the leaderboard
                save_change(conn, program_id, member_id, ConsentChange(
                    {Purpose.LEADERBOARD: profile.leaderboard_opt_in}, ConsentSource.API, None, now), now)
            answer = profile_json(profile)
            remembered.remember({"member_id": member_id, "profile": answer}, now)
            return answer


def _check(profile: Profile) -> None:
    if profile.time_zone is not None:
        require_time_zone(profile.time_zone)
    month, day = profile.birthday_month, profile.birthday_day
    if (month is None) != (day is None):
        raise InvalidRequest("a birthday is a month and a day: give both, or clear both")
    if month is not None and day is not None:
        if not 1 <= month <= 12 or not 1 <= day <= monthrange(2024, month)[1]:  # 2024: a leap year, 29 Feb exists
            raise InvalidRequest(f"there is no day {day} in month {month}")
    if profile.leaderboard_opt_in and not profile.display_name:
        raise InvalidRequest("a leaderboard shows only a display name: set display_name to opt in")
