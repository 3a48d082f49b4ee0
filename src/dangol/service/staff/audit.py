"""The staff part of the audit log: who (a staff account, or `cli`), did what, when, from
which address, with the state before and after. Written with the action, in its
transaction; read in the console and by `dangol staff audit-log`. The same table holds the
personal-data entries (service/privacy/audit.py): reading it here shows both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ...domain.errors import InvalidRequest
from ...storage.audit_repository import AuditEntry, AuditFilter, AuditRepository
from ...storage.database import Database
from ..reads import Page, _cursor
from ..receipts import iso

MAX_PAGE = 200

# Staff actions (the `action` of an entry).
STAFF_CREATE = "staff.create"
STAFF_DISABLE = "staff.disable"
STAFF_RESET_TOTP = "staff.reset_totp"
STAFF_SIGN_IN = "staff.sign_in"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a staff account's `staff:<username>`, or `cli`; and from where."""
    name: str
    address: str | None = None


CLI = Actor("cli")


@dataclass(frozen=True, slots=True)
class Change:
    action: str
    program_id: str | None = None
    member_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    detail: dict[str, Any] | None = None


def record(conn: Connection, actor: Actor, change: Change, at: datetime) -> None:
    """Appends `change` in the transaction of `conn`: it is kept if and only if the action is."""
    AuditRepository(conn).record(change.program_id, change.member_id, change.action, actor.name, at, change.detail,
                                 address=actor.address, before=change.before, after=change.after)


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "program_id": entry.program_id, "member_id": entry.member_id, "action": entry.action,
            "actor": entry.actor, "address": entry.address, "at": iso(entry.at), "before": entry.before,
            "after": entry.after, "detail": entry.detail}


class StaffAuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def entries(self, which: AuditFilter = AuditFilter(), *, cursor: str | None = None, limit: int = 50) -> Page:
        """Oldest first, every program's and the installation's unless `which` narrows."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
        with self.db.read() as conn:
            rows = AuditRepository(conn).entries(which, _cursor(cursor), limit + 1)
        return Page([entry_json(e) for e in rows[:limit]], str(rows[limit - 1].id) if len(rows) > limit else None)
