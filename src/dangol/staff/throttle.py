"""Sign-in throttling: too many failed sign-ins for one account, or from one address, within
a window lock further attempts until the window has passed since the last failure. Per
account against guessing one password; per address against trying many accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Throttle:
    window: timedelta = timedelta(minutes=15)
    per_account: int = 5
    per_address: int = 20

    def locked_until(self, account_failures: Sequence[datetime], address_failures: Sequence[datetime],
                     now: datetime) -> datetime | None:
        """When sign-in opens again, or None if it is open. The failures are those since
        `now - window` (what `since` names)."""
        until: datetime | None = None
        for failures, limit in ((account_failures, self.per_account), (address_failures, self.per_address)):
            recent = [f for f in failures if f > now - self.window]
            if len(recent) >= limit:
                opens = max(recent) + self.window
                until = opens if until is None else max(until, opens)
        return until

    def since(self, now: datetime) -> datetime:
        return now - self.window
