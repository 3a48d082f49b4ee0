"""Member portal sign-in: what a single-use link and a session allow, decided without I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

LINK_LIFETIME = timedelta(minutes=10)  # the member is sent on at once, like a payment page
SESSION_LIFETIME = timedelta(hours=12)


class LinkRefusal(enum.Enum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class PortalLink:
    program_id: str
    member_id: str
    expires_at: datetime
    used_at: datetime | None

    def refusal(self, program_id: str, at: datetime) -> LinkRefusal | None:
        """Why the link cannot open a session now, None when it can (once)."""
        if self.program_id != program_id:
            return LinkRefusal.UNKNOWN  # another program's link says nothing about it
        if self.used_at is not None:
            return LinkRefusal.USED
        if at >= self.expires_at:
            return LinkRefusal.EXPIRED
        return None


@dataclass(frozen=True, slots=True)
class PortalSession:
    program_id: str
    member_id: str
    expires_at: datetime

    def valid(self, program_id: str, at: datetime) -> bool:
        return self.program_id == program_id and at < self.expires_at
