"""The rows of the audit log: personal-data reads and changes, and staff actions, in one
table (tables.audit_log). Only ever appended to, apart from retention removing old
personal-data entries. One instance lives inside the transaction of what it records."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from . import tables as t


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    program_id: str | None
    member_id: str | None
    action: str
    actor: str
    at: datetime
    detail: dict[str, Any] | None
    address: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries to read: `program_id` None is every program's and the installation's;
    `actions` None is every action."""
    program_id: str | None = None
    member_id: str | None = None
    actions: Collection[str] | None = None
    actor: str | None = None


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _value(text: str | None) -> dict[str, Any] | None:
    return None if text is None else dict(json.loads(text))


class AuditRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def record(self, program_id: str | None, member_id: str | None, action: str, actor: str, at: datetime,
               detail: dict[str, Any] | None = None, *, address: str | None = None,
               before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
        self.conn.execute(insert(t.audit_log).values(
            program_id=program_id, member_id=member_id, action=action, actor=actor, at=at, detail=_json(detail),
            address=address, state_before=_json(before), state_after=_json(after)))

    def entries(self, which: AuditFilter, after: int | None, limit: int) -> list[AuditEntry]:
        """Oldest first, after the entry with id `after`."""
        log = t.audit_log
        query = select(log)
        if which.program_id is not None:
            query = query.where(log.c.program_id == which.program_id)
        if which.member_id is not None:
            query = query.where(log.c.member_id == which.member_id)
        if which.actions is not None:
            query = query.where(log.c.action.in_(sorted(which.actions)))
        if which.actor is not None:
            query = query.where(log.c.actor == which.actor)
        if after is not None:
            query = query.where(log.c.id > after)
        return [AuditEntry(r.id, r.program_id, r.member_id, r.action, r.actor, r.at, _value(r.detail), r.address,
                           _value(r.state_before), _value(r.state_after))
                for r in self.conn.execute(query.order_by(log.c.id).limit(limit))]

    def forget_before(self, program_id: str, before: datetime, actions: Collection[str]) -> int:
        """Removes the program's entries of `actions` older than `before` (retention)."""
        log = t.audit_log
        return int(self.conn.execute(delete(log).where(
            log.c.program_id == program_id, log.c.at < before, log.c.action.in_(sorted(actions)))).rowcount)
