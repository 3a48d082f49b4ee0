"""The dispatcher: outbox rows become deliveries (routing), and due deliveries are sent, at
least once, with retries and exponential backoff, dead after the last try, again on demand.

Each step is load -> decide -> write: routing reads unrouted rows, the subscriptions and the
members' choices, decides with notifications.routing, and writes the deliveries and marks the
rows routed in one transaction. Sending reads a batch of due deliveries, sends each outside any
transaction, then writes what came of it. A dispatcher killed mid-send has written nothing for
that delivery: it is sent again (same `webhook-id`), never lost. Runs under the outbox-dispatch
job's lease (service/jobs/), so two dispatchers do not send the same delivery at once."""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection

from ...delivery.attempt import Attempt
from ...delivery.mail import MailSender
from ...delivery.webhooks import WebhookSender
from ...domain.clock import Clock, SystemClock
from ...domain.errors import DomainError
from ...notifications.kinds import MESSAGE_KINDS
from ...notifications.routing import Audience, Endpoint, routes
from ...notifications.templates import RenderFailed
from ...privacy.consent import Purpose
from ...storage.database import Database
from ...storage.notifications_repository import Delivery, NotificationsRepository, OutboxRow, Subscription
from ...storage.audit_repository import AuditRepository
from ...storage.privacy_repository import PrivacyRepository
from ..privacy.audit import NOTIFY
from ..privacy.keys import DataKeys
from ..privacy.personal_data import open_values
from ..receipts import iso
from .messages import Messages, policy_for
from .outbox import EVERY_PROGRAM
from .settings import NotificationSettings

ROUTE_BATCH = 500
SEND_BATCH = 100
NOTIFY_ACTOR = "notifications"
# Outbox rows outlive the month in which a job may derive them again (a statement is keyed by
# its month, and the statements job runs every day of the next): the key must still be there.
KEEP_ROWS = timedelta(days=62)


@dataclass
class DispatchReport:
    routed: int = 0
    deliveries: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0

    pruned: int = 0

    def as_json(self) -> dict[str, int]:
        return {"routed": self.routed, "deliveries": self.deliveries, "delivered": self.delivered,
                "retrying": self.retrying, "dead": self.dead, "pruned": self.pruned}


def new_delivery_id() -> str:
    return "msg_" + secrets.token_hex(12)


def address_digest(key: str, address: str) -> str:
    return hmac.new(key.encode(), address.strip().lower().encode(), hashlib.sha256).hexdigest()


def webhook_body(row: OutboxRow, data: dict[str, Any] | None = None) -> bytes:
    """The Standard Webhooks payload: type, timestamp (of the change), data."""
    return orjson.dumps({"type": row.type, "timestamp": iso(row.occurred_at), "data": data or row.payload})


def endpoint(sub: Subscription) -> Endpoint:
    return Endpoint(sub.id, tuple(sub.event_types), sub.member_channel, sub.enabled)


class Dispatcher:
    def __init__(self, db: Database, keys: DataKeys, settings: NotificationSettings, clock: Clock | None = None,
                 webhooks: WebhookSender | None = None, mail: MailSender | None = None,
                 jitter: random.Random | None = None) -> None:
        self.db, self.keys, self.settings = db, keys, settings
        self.clock = clock or SystemClock()
        self.webhooks = webhooks or WebhookSender(settings.webhooks)
        self.mail = mail or (MailSender(settings.smtp) if settings.smtp else None)
        self.jitter = jitter or random.Random()
        self.messages = Messages(settings.public_url)

    def run(self, now: datetime | None = None, max_rounds: int = 100, program_id: str | None = None) -> DispatchReport:
        """Routes everything unrouted, then sends what is due at `now`, batch after batch: of
        every live program, or of `program_id` only (a test program, at its own time)."""
        report = DispatchReport()
        now = now or self.clock.now()
        while self.route(now, report, program_id=program_id):
            pass
        for _ in range(max_rounds):
            if not self.send_due(now, report, program_id=program_id):
                break
        if program_id is not None:
            return report  # pruning goes by the wall clock: a test program's time must not prune others' rows
        with self.db.write() as conn:
            deliveries, rows = NotificationsRepository(conn).prune(now - self.settings.keep,
                                                                   now - max(self.settings.keep, KEEP_ROWS))
        report.pruned = deliveries + rows
        return report

    # ------------------------------------------------------------ routing

    def route(self, now: datetime, report: DispatchReport, limit: int = ROUTE_BATCH,
              program_id: str | None = None) -> int:
        with self.db.write() as conn:
            repo = NotificationsRepository(conn)
            rows = repo.unrouted(limit, program_id)
            if not rows:
                return 0
            endpoints = self._endpoints(repo, {r.program_id for r in rows})
            audiences = self._audiences(conn, repo, rows, now)
            deliveries = []
            for row in rows:
                targets = endpoints.get(row.program_id, []) if row.program_id != EVERY_PROGRAM else [
                    e for found in endpoints.values() for e in found]
                for route in routes(row.type, targets, audiences.get(row.id)):
                    deliveries.append({
                        "delivery_id": new_delivery_id(), "program_id": row.program_id, "outbox_id": row.id,
                        "subscription_id": route.subscription_id, "channel": route.channel,
                        "member_id": row.member_id, "status": "pending", "attempts": 0, "next_attempt_at": now,
                        "created_at": now})
            repo.add_deliveries(deliveries)
            repo.mark_routed([r.id for r in rows])
        report.routed += len(rows)
        report.deliveries += len(deliveries)
        return len(rows)

    @staticmethod
    def _endpoints(repo: NotificationsRepository, program_ids: set[str]) -> dict[str, list[Endpoint]]:
        if EVERY_PROGRAM in program_ids:
            program_ids = program_ids | set(repo.program_ids_with_subscriptions())
        return {p: [endpoint(s) for s in repo.subscriptions(p)] for p in program_ids if p != EVERY_PROGRAM}

    @staticmethod
    def _audiences(conn: Connection, repo: NotificationsRepository, rows: Sequence[OutboxRow],
                   now: datetime) -> dict[int, Audience]:
        """For each row that is a message to a member: what routing needs to know of them."""
        messages = [r for r in rows if r.type in MESSAGE_KINDS and r.member_id]
        found: dict[int, Audience] = {}
        consenting: dict[str, set[str]] = {}
        for program_id in {r.program_id for r in messages}:
            members = sorted({r.member_id for r in messages if r.program_id == program_id and r.member_id})
            consenting[program_id] = PrivacyRepository(conn).granted_among(program_id, Purpose.MARKETING, members)
        for row in messages:
            assert row.member_id is not None
            policy = policy_for(repo, row.program_id, now)
            chosen = repo.preferences(row.member_id)
            found[row.id] = Audience(None if chosen is None else chosen[1],
                                     row.member_id in consenting[row.program_id], policy.transactional_email)
        return found

    # ------------------------------------------------------------ sending

    def send_due(self, now: datetime, report: DispatchReport, limit: int = SEND_BATCH,
                 program_id: str | None = None) -> int:
        with self.db.read() as conn:
            repo = NotificationsRepository(conn)
            due = repo.due(now, limit, program_id)
            rows = repo.outbox_rows([d.outbox_id for d in due])
            subs = {s: repo.subscription(s) for s in {d.subscription_id for d in due if d.subscription_id}}
        for delivery in due:
            attempt = self._attempt(delivery, rows[delivery.outbox_id], subs.get(delivery.subscription_id or ""), now)
            self._record(delivery, attempt, now, report)
        return len(due)

    def _attempt(self, delivery: Delivery, row: OutboxRow, sub: Subscription | None, now: datetime) -> Attempt:
        if delivery.channel == "email":
            return self._email(delivery, row, now)
        if sub is None or not sub.enabled:
            return Attempt(False, error="the subscription is gone or disabled", permanent=True)
        secrets_now = [sub.secret] + ([sub.previous_secret] if sub.previous_secret and sub.previous_secret_until
                                      and sub.previous_secret_until > now else [])
        if delivery.channel == "webhook":
            return self.webhooks.send(sub.url, delivery.delivery_id, webhook_body(row), secrets_now)
        data = self._member_message(delivery, row, now)  # a member channel: the rendered message
        if isinstance(data, Attempt):
            return data
        return self.webhooks.send(sub.url, delivery.delivery_id, webhook_body(row, data), secrets_now)

    def _member_message(self, delivery: Delivery, row: OutboxRow, now: datetime) -> dict[str, Any] | Attempt:
        with self.db.read() as conn:
            repo = NotificationsRepository(conn)
            if delivery.member_id is None or PrivacyRepository(conn).erasure(delivery.member_id) is not None:
                return Attempt(False, error="the member was erased", permanent=True)
            try:
                language, rendered = self.messages.render(conn, repo, row, None, now)
            except (RenderFailed, DomainError) as error:
                return Attempt(False, error=f"template: {error}", permanent=True)
        return {**row.payload, "channel": delivery.channel, "language": language,
                "message": {"subject": rendered.subject, "text": rendered.text}}

    def _email(self, delivery: Delivery, row: OutboxRow, now: datetime) -> Attempt:
        if self.mail is None:
            return Attempt(False, error="no SMTP server is configured")
        member_id = delivery.member_id
        with self.db.write() as conn:  # the address is read, and the read audited, in one transaction
            repo = NotificationsRepository(conn)
            privacy = PrivacyRepository(conn)
            if member_id is None or privacy.erasure(member_id) is not None:
                return Attempt(False, error="the member was erased", permanent=True)
            try:
                values = open_values(self.keys, conn, row.program_id, member_id) or {}
            except DomainError as error:
                return Attempt(False, error=str(error))
            address = values.get("email")
            if not address:
                return Attempt(False, error="the member has no e-mail address", permanent=True)
            policy = policy_for(repo, row.program_id, now)
            digest = address_digest(policy.unsubscribe_key, address)
            if repo.bounced(member_id, digest):
                return Attempt(False, error="the address bounced before", permanent=True)
            try:
                _, rendered = self.messages.render(conn, repo, row, policy, now)
            except (RenderFailed, DomainError) as error:
                return Attempt(False, error=f"template: {error}", permanent=True)
            AuditRepository(conn).record(row.program_id, member_id, NOTIFY, NOTIFY_ACTOR, now,
                          {"fields": ["email"], "delivery": delivery.delivery_id})
        attempt = self.mail.send(address, rendered, delivery.delivery_id,
                                 self.messages.unsubscribe_url(policy, row.program_id, member_id, row.type))
        if attempt.permanent:
            with self.db.write() as conn:
                NotificationsRepository(conn).add_bounce(row.program_id, member_id, digest, now, attempt.error or "")
        return attempt

    def _record(self, delivery: Delivery, attempt: Attempt, now: datetime, report: DispatchReport) -> None:
        attempts = delivery.attempts + 1
        if attempt.delivered:
            status, next_at = "delivered", None
            report.delivered += 1
        else:
            next_at = None if attempt.permanent else self.settings.retry.next_attempt(attempts, now, self.jitter.random())
            status = "pending" if next_at else "dead"
            if next_at:
                report.retrying += 1
            else:
                report.dead += 1
        with self.db.write() as conn:
            NotificationsRepository(conn).record_attempt(delivery.id, status=status, attempts=attempts,
                                                         next_attempt_at=next_at, at=now, last_status=attempt.status,
                                                         last_error=attempt.error)
