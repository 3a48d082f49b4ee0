"""Published rulesets and a program's rule policy: rows in, rows out, inside the caller's
transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from . import tables as t

DEFAULT_NOTICE_DAYS = 30  # the example program's notice (seed 003); a program sets its own
DEFAULT_TIME_ZONE = "UTC"


@dataclass(frozen=True, slots=True)
class RulePolicy:
    program_id: str
    notice_days: int = DEFAULT_NOTICE_DAYS
    default_time_zone: str = DEFAULT_TIME_ZONE


@dataclass(frozen=True, slots=True)
class PublishedRuleset:
    program_id: str
    number: int
    hash: str
    version: str
    effective_from: datetime
    published_at: datetime
    urgent: bool
    urgent_reason: str | None
    changes: list[dict[str, Any]]
    document: str  # canonical JSON
    source: str


class RulesetRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def policy(self, program_id: str) -> RulePolicy:
        row = self.conn.execute(select(t.rule_policies).where(t.rule_policies.c.program_id == program_id)).first()
        if row is None:
            return RulePolicy(program_id)
        return RulePolicy(program_id, row.notice_days, row.default_time_zone)

    def save_policy(self, policy: RulePolicy, at: datetime) -> None:
        values = {"notice_days": policy.notice_days, "default_time_zone": policy.default_time_zone, "updated_at": at}
        table = t.rule_policies
        if self.conn.execute(update(table).where(table.c.program_id == policy.program_id).values(**values)).rowcount:
            return
        self.conn.execute(insert(table).values(program_id=policy.program_id, **values))

    def add(self, published: PublishedRuleset) -> None:
        self.conn.execute(insert(t.rulesets).values(
            program_id=published.program_id, number=published.number, hash=published.hash,
            version=published.version, effective_from=published.effective_from,
            published_at=published.published_at, urgent=published.urgent, urgent_reason=published.urgent_reason,
            changes=json.dumps(published.changes, ensure_ascii=False), document=published.document,
            source=published.source))

    def next_number(self, program_id: str) -> int:
        highest = self.conn.execute(select(func.max(t.rulesets.c.number))
                                    .where(t.rulesets.c.program_id == program_id)).scalar()
        return int(highest or 0) + 1

    def all(self, program_id: str) -> list[PublishedRuleset]:
        """Every ruleset of the program, in publication order."""
        rows = self.conn.execute(select(t.rulesets).where(t.rulesets.c.program_id == program_id)
                                 .order_by(t.rulesets.c.number))
        return [_published(row) for row in rows]

    def by_hash(self, program_id: str, ruleset_hash: str) -> PublishedRuleset | None:
        row = self.conn.execute(select(t.rulesets).where(
            t.rulesets.c.program_id == program_id, t.rulesets.c.hash == ruleset_hash)).first()
        return None if row is None else _published(row)

    def hash_in_force(self, program_id: str, at: datetime) -> str | None:
        """The hash of `in_force`'s ruleset, without its document (read per event)."""
        table = t.rulesets
        return self.conn.execute(select(table.c.hash).where(table.c.program_id == program_id,
                                                            table.c.effective_from <= at)
                                 .order_by(table.c.effective_from.desc(), table.c.number.desc()).limit(1)).scalar()

    def in_force(self, program_id: str, at: datetime) -> PublishedRuleset | None:
        """The ruleset in force at `at`: the latest effective by then (of two effective at the
        same instant, the one published last)."""
        table = t.rulesets
        row = self.conn.execute(select(table).where(table.c.program_id == program_id, table.c.effective_from <= at)
                                .order_by(table.c.effective_from.desc(), table.c.number.desc()).limit(1)).first()
        return None if row is None else _published(row)


def _published(row: Any) -> PublishedRuleset:
    return PublishedRuleset(row.program_id, row.number, row.hash, row.version, row.effective_from, row.published_at,
                            row.urgent, row.urgent_reason, json.loads(row.changes), row.document, row.source)
