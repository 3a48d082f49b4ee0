"""The outbox, webhook subscriptions, deliveries and the settings of messages to members."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from . import tables as t
from .bulk import insert_rows
from .types import to_micros

OUTBOX_COLUMNS = ("event_id", "program_id", "type", "member_id", "payload", "occurred_at")


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    event_id: str
    program_id: str
    type: str
    member_id: str | None
    payload: dict[str, Any]
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    program_id: str
    url: str
    event_types: list[str]
    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    member_channel: str | None
    enabled: bool
    created_at: datetime

    def wants(self, event_type: str) -> bool:
        return self.enabled and ("*" in self.event_types or event_type in self.event_types)


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    delivery_id: str
    program_id: str
    outbox_id: int
    subscription_id: str | None
    channel: str
    member_id: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Policy:
    program_id: str
    transactional_email: bool
    expiry_warning_days: int
    default_language: str
    unsubscribe_key: str
    updated_at: datetime | None


def _upsert(conn: Connection, table: Table, values: dict[str, Any], keys: Sequence[str]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    changed = {k: v for k, v in values.items() if k not in keys}
    conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changed))


class NotificationsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------ the outbox

    def add_outbox(self, rows: Sequence[tuple[str, str, str, str | None, str, datetime]]) -> None:
        """Rows of a write path, in bulk (event ids are new)."""
        insert_rows(self.conn, t.outbox, OUTBOX_COLUMNS,
                    [(e, p, ty, m, payload, to_micros(at)) for e, p, ty, m, payload, at in rows])

    def add_outbox_once(self, rows: Sequence[tuple[str, str, str, str | None, str, datetime]]) -> int:
        """Rows of a job, whose event ids are derived from what they tell: a row already
        there is left as it was (a job run twice tells once). Returns how many were new."""
        if not rows:
            return 0
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        new = 0
        for e, p, ty, m, payload, at in rows:
            statement = dialect.insert(t.outbox).values(event_id=e, program_id=p, type=ty, member_id=m,
                                                        payload=payload, occurred_at=at, routed=False)
            # RETURNING, not rowcount: psycopg answers -1 for an insert that returns the new id.
            inserted = statement.on_conflict_do_nothing(index_elements=["event_id"]).returning(t.outbox.c.id)
            new += self.conn.execute(inserted).first() is not None
        return new

    def unrouted(self, limit: int, program_id: str | None = None) -> list[OutboxRow]:
        """The oldest rows not routed yet, of the program (None: of every live program, and
        those of no program); on PostgreSQL locked, skipping rows another dispatcher holds,
        so that two never route the same row."""
        o = t.outbox
        query = (select(o).where(o.c.routed == False, _of_program(o, program_id))  # noqa: E712
                 .order_by(o.c.id).limit(limit))
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = self.conn.execute(query)
        return [OutboxRow(r.id, r.event_id, r.program_id, r.type, r.member_id, json.loads(r.payload), r.occurred_at)
                for r in rows]

    def outbox_rows(self, ids: Sequence[int]) -> dict[int, OutboxRow]:
        if not ids:
            return {}
        o = t.outbox
        rows = self.conn.execute(select(o).where(o.c.id.in_(list(ids))))
        return {r.id: OutboxRow(r.id, r.event_id, r.program_id, r.type, r.member_id, json.loads(r.payload),
                                r.occurred_at) for r in rows}

    def mark_routed(self, ids: Sequence[int]) -> None:
        if ids:
            self.conn.execute(update(t.outbox).where(t.outbox.c.id.in_(list(ids))).values(routed=True))

    def outbox_page(self, program_id: str, after: int | None, limit: int) -> list[OutboxRow]:
        o = t.outbox
        query = select(o).where(o.c.program_id == program_id)
        if after is not None:
            query = query.where(o.c.id > after)
        rows = self.conn.execute(query.order_by(o.c.id).limit(limit))
        return [OutboxRow(r.id, r.event_id, r.program_id, r.type, r.member_id, json.loads(r.payload), r.occurred_at)
                for r in rows]

    # ------------------------------------------------------------ subscriptions

    def subscriptions(self, program_id: str) -> list[Subscription]:
        s = t.webhook_subscriptions
        rows = self.conn.execute(select(s).where(s.c.program_id == program_id).order_by(s.c.created_at, s.c.id))
        return [_subscription(r) for r in rows]

    def program_ids_with_subscriptions(self) -> list[str]:
        s = t.webhook_subscriptions
        return list(self.conn.execute(select(s.c.program_id).distinct()).scalars())

    def subscription(self, subscription_id: str, lock: bool = False) -> Subscription | None:
        s = t.webhook_subscriptions
        query = select(s).where(s.c.id == subscription_id)
        if lock and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return None if row is None else _subscription(row)

    def add_subscription(self, sub: Subscription) -> None:
        self.conn.execute(insert(t.webhook_subscriptions).values(
            id=sub.id, program_id=sub.program_id, url=sub.url, event_types=json.dumps(sub.event_types),
            secret=sub.secret, previous_secret=sub.previous_secret, previous_secret_until=sub.previous_secret_until,
            member_channel=sub.member_channel, enabled=sub.enabled, created_at=sub.created_at))

    def update_subscription(self, sub: Subscription) -> None:
        self.conn.execute(update(t.webhook_subscriptions).where(t.webhook_subscriptions.c.id == sub.id).values(
            url=sub.url, event_types=json.dumps(sub.event_types), secret=sub.secret,
            previous_secret=sub.previous_secret, previous_secret_until=sub.previous_secret_until,
            member_channel=sub.member_channel, enabled=sub.enabled))

    def delete_subscription(self, subscription_id: str) -> None:
        self.conn.execute(delete(t.webhook_subscriptions).where(t.webhook_subscriptions.c.id == subscription_id))

    # ------------------------------------------------------------ deliveries

    def add_deliveries(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(insert(t.deliveries), list(rows))

    def due(self, now: datetime, limit: int, program_id: str | None = None) -> list[Delivery]:
        """Pending deliveries due at `now`, of the program (None: of every live program)."""
        d = t.deliveries
        rows = self.conn.execute(select(d).where(and_(d.c.status == "pending", d.c.next_attempt_at <= now,
                                                      _of_program(d, program_id)))
                                 .order_by(d.c.next_attempt_at, d.c.id).limit(limit))
        return [Delivery(**r._mapping) for r in rows]

    def next_attempt_after(self, program_id: str, moment: datetime) -> datetime | None:
        """When the program's next pending delivery is due after `moment` (a test clock stops there)."""
        d = t.deliveries
        return self.conn.execute(select(func.min(d.c.next_attempt_at)).where(
            d.c.program_id == program_id, d.c.status == "pending", d.c.next_attempt_at > moment)).scalar()

    def delivery(self, delivery_id: str) -> Delivery | None:
        row = self.conn.execute(select(t.deliveries).where(t.deliveries.c.delivery_id == delivery_id)).first()
        return None if row is None else Delivery(**row._mapping)

    def record_attempt(self, row_id: int, *, status: str, attempts: int, next_attempt_at: datetime | None,
                       at: datetime, last_status: int | None, last_error: str | None) -> None:
        self.conn.execute(update(t.deliveries).where(t.deliveries.c.id == row_id).values(
            status=status, attempts=attempts, next_attempt_at=next_attempt_at, last_attempt_at=at,
            last_status=last_status, last_error=None if last_error is None else last_error[:500]))

    def redeliver(self, delivery_id: str, now: datetime) -> bool:
        d = t.deliveries
        return bool(self.conn.execute(update(d).where(d.c.delivery_id == delivery_id).values(
            status="pending", attempts=0, next_attempt_at=now)).rowcount)

    def deliveries(self, program_id: str, *, subscription_id: str | None = None, status: str | None = None,
                   after: int | None = None, limit: int = 50) -> list[Delivery]:
        d = t.deliveries
        query = select(d).where(d.c.program_id == program_id)
        if subscription_id is not None:
            query = query.where(d.c.subscription_id == subscription_id)
        if status is not None:
            query = query.where(d.c.status == status)
        if after is not None:
            query = query.where(d.c.id > after)
        return [Delivery(**r._mapping) for r in self.conn.execute(query.order_by(d.c.id).limit(limit))]

    def prune(self, before: datetime, rows_before: datetime) -> tuple[int, int]:
        """Deliveries delivered before `before`, then routed outbox rows from before
        `rows_before` with no delivery left (dead letters stay until redelivered). Returns
        (deliveries, rows)."""
        d, o = t.deliveries, t.outbox
        deliveries = self.conn.execute(delete(d).where(and_(d.c.status == "delivered",
                                                            d.c.last_attempt_at < before))).rowcount
        left = select(d.c.id).where(d.c.outbox_id == o.c.id).exists()
        rows = self.conn.execute(delete(o).where(and_(o.c.routed == True, o.c.occurred_at < rows_before,  # noqa: E712
                                                      ~left))).rowcount
        return deliveries, rows

    # ------------------------------------------------------------ the program's policy, members' choices

    def policy(self, program_id: str) -> Policy | None:
        row = self.conn.execute(select(t.notification_policies)
                                .where(t.notification_policies.c.program_id == program_id)).first()
        return None if row is None else Policy(**row._mapping)

    def save_policy(self, policy: Policy) -> None:
        values = {"program_id": policy.program_id, "transactional_email": policy.transactional_email,
                  "expiry_warning_days": policy.expiry_warning_days, "default_language": policy.default_language,
                  "unsubscribe_key": policy.unsubscribe_key, "updated_at": policy.updated_at}
        _upsert(self.conn, t.notification_policies, values, ["program_id"])

    def preferences(self, member_id: str) -> tuple[str | None, dict[str, list[str]]] | None:
        p = t.member_notification_preferences
        row = self.conn.execute(select(p.c.language, p.c.channels).where(p.c.member_id == member_id)).first()
        return None if row is None else (row.language, json.loads(row.channels))

    def save_preferences(self, program_id: str, member_id: str, language: str | None,
                         channels: dict[str, list[str]], at: datetime) -> None:
        _upsert(self.conn, t.member_notification_preferences,
                {"member_id": member_id, "program_id": program_id, "language": language,
                 "channels": json.dumps(channels, sort_keys=True), "updated_at": at}, ["member_id"])

    def template(self, program_id: str, kind: str, language: str) -> tuple[str, str, str] | None:
        e = t.email_templates
        row = self.conn.execute(select(e.c.subject, e.c.text_body, e.c.html_body).where(and_(
            e.c.program_id == program_id, e.c.kind == kind, e.c.language == language))).first()
        return None if row is None else (row.subject, row.text_body, row.html_body)

    def save_template(self, program_id: str, kind: str, language: str, subject: str, text: str, html: str,
                      at: datetime) -> None:
        _upsert(self.conn, t.email_templates,
                {"program_id": program_id, "kind": kind, "language": language, "subject": subject,
                 "text_body": text, "html_body": html, "updated_at": at}, ["program_id", "kind", "language"])

    def bounced(self, member_id: str, address_digest: str) -> bool:
        b = t.email_bounces
        return self.conn.execute(select(b.c.member_id).where(and_(
            b.c.member_id == member_id, b.c.address_digest == address_digest))).first() is not None

    def add_bounce(self, program_id: str, member_id: str, address_digest: str, at: datetime, reason: str) -> None:
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        self.conn.execute(dialect.insert(t.email_bounces).values(
            member_id=member_id, address_digest=address_digest, program_id=program_id, bounced_at=at,
            reason=reason[:500]).on_conflict_do_nothing(index_elements=["member_id", "address_digest"]))

    def forget_member(self, member_id: str) -> None:
        """An erasure: the member's choices and bounce marks go with their data."""
        for table in (t.member_notification_preferences, t.email_bounces):
            self.conn.execute(delete(table).where(table.c.member_id == member_id))


def _subscription(r: Any) -> Subscription:
    return Subscription(r.id, r.program_id, r.url, json.loads(r.event_types), r.secret, r.previous_secret,
                        r.previous_secret_until, r.member_channel, r.enabled, r.created_at)


def _of_program(table: Table, program_id: str | None) -> ColumnElement[bool]:
    """Rows of the program; None: rows of no test program (a test program's notifications go
    out when its clock is advanced, at its own time)."""
    if program_id is not None:
        return table.c.program_id == program_id
    return table.c.program_id.not_in(select(t.test_clocks.c.program_id))
