"""Recorded business events, referral codes and referral relations."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from sqlalchemy import Connection, insert, select

from . import tables as t
from .bulk import insert_rows
from .ledger_repository import chunked
from .types import to_micros


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    seq: int
    program_id: str
    event_id: str
    type: str
    member_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    fingerprint: str
    body: dict[str, Any]
    ruleset_hash: str | None
    result: dict[str, Any]


EVENT_COLUMNS = ("program_id", "event_id", "type", "member_id", "order_id", "occurred_at", "recorded_at",
                 "fingerprint", "body", "ruleset_hash", "result")


class EventsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def find(self, program_id: str, event_id: str) -> RecordedEvent | None:
        row = self.conn.execute(select(t.events).where(t.events.c.program_id == program_id,
                                                       t.events.c.event_id == event_id)).first()
        return None if row is None else _event(row)

    def find_many(self, program_id: str, event_ids: Sequence[str]) -> dict[str, RecordedEvent]:
        """The recorded events among these ids (a batch looks its events up at once)."""
        found: dict[str, RecordedEvent] = {}
        for chunk in chunked(sorted(set(event_ids))):
            rows = self.conn.execute(select(t.events).where(t.events.c.program_id == program_id,
                                                            t.events.c.event_id.in_(chunk)))
            found.update((row.event_id, _event(row)) for row in rows)
        return found

    def recorded_ids(self, program_id: str, event_ids: list[str]) -> set[str]:
        """Which of `event_ids` the program has recorded."""
        if not event_ids:
            return set()
        return set(self.conn.execute(select(t.events.c.event_id).where(
            t.events.c.program_id == program_id, t.events.c.event_id.in_(event_ids))).scalars())

    def add_many(self, rows: Sequence[tuple[str, str, str, str | None, str | None, datetime, datetime, str, str,
                                            str | None, dict[str, Any]]]) -> None:
        """Records events, each (program id, event id, type, member id, order id, occurred at,
        recorded at, fingerprint, body, ruleset hash, result), in one multi-row statement."""
        insert_rows(self.conn, t.events, EVENT_COLUMNS, [
            (program_id, event_id, kind, member_id, order_id, to_micros(occurred_at), to_micros(recorded_at),
             fingerprint, body, ruleset_hash, orjson.dumps(result).decode())
            for program_id, event_id, kind, member_id, order_id, occurred_at, recorded_at, fingerprint, body,
            ruleset_hash, result in rows])

    def in_order(self, program_id: str, start: datetime | None = None, end: datetime | None = None,
                 ) -> Iterator[RecordedEvent]:
        """The program's events in the order they were recorded (what replay follows)."""
        query = select(t.events).where(t.events.c.program_id == program_id)
        if start is not None:
            query = query.where(t.events.c.occurred_at >= start)
        if end is not None:
            query = query.where(t.events.c.occurred_at < end)
        for row in self.conn.execute(query.order_by(t.events.c.id)):
            yield _event(row)

    # ------------------------------------------------------------ referrals

    def referral_code_of(self, member_id: str) -> str | None:
        table = t.referral_codes
        return self.conn.execute(select(table.c.code).where(table.c.member_id == member_id)).scalar()

    def add_referral_code(self, program_id: str, member_id: str, code: str, at: datetime) -> None:
        self.conn.execute(insert(t.referral_codes).values(code=code, program_id=program_id, member_id=member_id,
                                                          created_at=at))

    def member_of_code(self, program_id: str, code: str) -> str | None:
        table = t.referral_codes
        return self.conn.execute(select(table.c.member_id).where(table.c.code == code,
                                                                 table.c.program_id == program_id)).scalar()

    def referrer_of(self, referee_id: str) -> str | None:
        table = t.referrals
        return self.conn.execute(select(table.c.referrer_id).where(table.c.referee_id == referee_id)).scalar()

    def referrers_of(self, referee_ids: Sequence[str]) -> dict[str, str]:
        table = t.referrals
        found: dict[str, str] = {}
        for chunk in chunked(sorted(set(referee_ids))):
            found.update((row[0], row[1]) for row in self.conn.execute(select(table.c.referee_id, table.c.referrer_id)
                                           .where(table.c.referee_id.in_(chunk))).all())
        return found

    def purchased_orders(self, program_id: str, order_ids: Sequence[str]) -> set[str]:
        """Which of the order ids some recorded purchase of the program names, whoever bought it."""
        table = t.events
        found: set[str] = set()
        for chunk in chunked(sorted(set(order_ids))):
            found.update(row[0] for row in self.conn.execute(
                select(table.c.order_id).distinct().where(table.c.program_id == program_id, table.c.type == "purchase",
                                                          table.c.order_id.in_(chunk))).all())
        return found

    def add_referral(self, program_id: str, referrer_id: str, referee_id: str, event_id: str, at: datetime) -> None:
        self.conn.execute(insert(t.referrals).values(referee_id=referee_id, program_id=program_id,
                                                     referrer_id=referrer_id, event_id=event_id, created_at=at))


def _event(row: Any) -> RecordedEvent:
    return RecordedEvent(row.id, row.program_id, row.event_id, row.type, row.member_id, row.occurred_at,
                         row.recorded_at, row.fingerprint, json.loads(row.body), row.ruleset_hash,
                         json.loads(row.result))
