"""The audit log of personal data: who read, changed, exported or erased a member's data,
and when. Written in the transaction of what it records (a read of personal data is
recorded before the data leaves the service, or not at all); read by the operator, and by
the member in their export."""

from __future__ import annotations

from typing import Any

from ...domain.errors import InvalidRequest
from ...storage.database import Database
from ...storage.ledger_repository import LedgerRepository
from ...storage.audit_repository import AuditEntry, AuditFilter, AuditRepository
from ..reads import Page, _check_member, _cursor
from ..receipts import iso

MAX_PAGE = 200

# What is recorded (the `action` of an entry).
READ = "personal_data.read"
UPDATE = "personal_data.update"
EXPORT = "member.export"
ERASE = "member.erase"
NOTIFY = "personal_data.notify"  # an address opened to send a member a message
# The personal-data part of the audit log (staff actions are the rest: service/staff/).
PERSONAL_DATA_ACTIONS = frozenset({READ, UPDATE, EXPORT, ERASE, NOTIFY})


def api_actor(key_id: str) -> str:
    return f"api-key:{key_id}"


def member_actor(member_id: str) -> str:
    """The member themselves, through the member portal."""
    return f"member:{member_id}"


CLI_ACTOR = "cli"
RETENTION_ACTOR = "retention"


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "member_id": entry.member_id, "action": entry.action, "actor": entry.actor,
            "at": iso(entry.at), "detail": entry.detail}


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def entries(self, program_id: str, member_id: str | None = None, *, cursor: str | None = None,
                limit: int = 50) -> Page:
        """Oldest first; `member_id` narrows to one member."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
        after = _cursor(cursor)
        with self.db.read() as conn:
            repo = LedgerRepository(conn)
            if member_id is None:
                repo.get_program(program_id)
            else:
                _check_member(repo, program_id, member_id)
            rows = AuditRepository(conn).entries(AuditFilter(program_id, member_id, PERSONAL_DATA_ACTIONS), after,
                                                 limit + 1)
        return Page([entry_json(e) for e in rows[:limit]], str(rows[limit - 1].id) if len(rows) > limit else None)
