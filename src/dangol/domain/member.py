"""A member: a pseudonymous id and the brand's own reference. No personal data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .errors import InvalidRequest, MemberNotActive


class MemberStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


_TRANSITIONS = {
    MemberStatus.ACTIVE: {MemberStatus.SUSPENDED, MemberStatus.CLOSED},
    MemberStatus.SUSPENDED: {MemberStatus.ACTIVE, MemberStatus.CLOSED},
    MemberStatus.CLOSED: set(),
}


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    program_id: str
    external_ref: str
    status: MemberStatus
    enrolled_at: datetime

    def require_active(self) -> None:
        if self.status is not MemberStatus.ACTIVE:
            raise MemberNotActive(f"member {self.id} is {self.status}", member_id=self.id)

    def can_become(self, status: MemberStatus) -> bool:
        return status is self.status or status in _TRANSITIONS[self.status]

    def require_transition(self, status: MemberStatus) -> None:
        if not self.can_become(status):
            raise InvalidRequest(f"member {self.id} is {self.status} and cannot become {status}")
