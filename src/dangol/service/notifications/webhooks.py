"""Webhook subscriptions: created, changed, their secret rotated with an overlap, removed; the
delivery log of each, and redelivery on demand."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from ...domain.clock import Clock, SystemClock
from ...domain.errors import InvalidRequest, UnknownDelivery, UnknownSubscription
from ...delivery.webhooks import Resolver, resolve
from ...notifications.addresses import DestinationPolicy, check_addresses, check_url
from ...notifications.kinds import MEMBER_CHANNELS, check_event_types
from ...storage.database import Database
from ...storage.ledger_repository import LedgerRepository
from ...storage.notifications_repository import Delivery, NotificationsRepository, Subscription
from ..reads import Page, _cursor, _limit
from ..receipts import iso
from ..remembered import Remembered

DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=30)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def subscription_json(sub: Subscription, *, with_secret: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": sub.id, "url": sub.url, "event_types": sub.event_types, "member_channel": sub.member_channel,
        "enabled": sub.enabled, "created_at": iso(sub.created_at),
        "previous_secret_until": iso(sub.previous_secret_until)}
    if with_secret:
        body["secret"] = sub.secret
    return body


def delivery_json(d: Delivery) -> dict[str, Any]:
    return {"id": d.delivery_id, "subscription_id": d.subscription_id, "channel": d.channel,
            "member_id": d.member_id, "status": d.status, "attempts": d.attempts,
            "next_attempt_at": iso(d.next_attempt_at), "last_attempt_at": iso(d.last_attempt_at),
            "last_status": d.last_status, "last_error": d.last_error, "created_at": iso(d.created_at)}


def _member_channel(value: object) -> str | None:
    if value is None:
        return None
    if value not in {c.value for c in MEMBER_CHANNELS}:
        raise InvalidRequest(f"member_channel is one of {[c.value for c in MEMBER_CHANNELS]} or null",
                             field="member_channel")
    return str(value)


class WebhookService:
    def __init__(self, db: Database, destinations: DestinationPolicy, clock: Clock | None = None,
                 resolver: Resolver = resolve) -> None:
        self.db, self.destinations, self.resolver = db, destinations, resolver
        self.clock = clock or SystemClock()

    def _check_destination(self, url: object) -> str:
        """The URL, if a webhook may go there today (checked again at every delivery)."""
        destination = check_url(url, self.destinations)
        check_addresses(destination, self.resolver(destination.host, destination.port), self.destinations)
        return str(url)

    def create(self, program_id: str, body: Mapping[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        self._check_destination(body.get("url"))
        types = check_event_types(body.get("event_types", ["*"]))
        channel = _member_channel(body.get("member_channel"))
        with self.db.write() as conn:
            LedgerRepository(conn).get_program(program_id)
            remembered = Remembered(conn, program_id, idempotency_key, {"webhook": dict(body)})
            previous = remembered.previous()
            if previous is not None:
                return dict(previous)
            now = self.clock.now()
            sub = Subscription("whs_" + secrets.token_hex(10), program_id, str(body["url"]), types, new_secret(),
                               None, None, channel, bool(body.get("enabled", True)), now)
            NotificationsRepository(conn).add_subscription(sub)
            return dict(remembered.remember(subscription_json(sub, with_secret=True), now))

    def list(self, program_id: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            return [subscription_json(s) for s in NotificationsRepository(conn).subscriptions(program_id)]

    def get(self, program_id: str, subscription_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            return subscription_json(self._find(NotificationsRepository(conn), program_id, subscription_id))

    def update(self, program_id: str, subscription_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """URL, event types, member channel, enabled: only those sent change (the same
        changes again change nothing, so it needs no Idempotency-Key)."""
        with self.db.write() as conn:
            repo = NotificationsRepository(conn)
            sub = self._find(repo, program_id, subscription_id, lock=True)
            if "url" in changes:
                self._check_destination(changes["url"])
                sub = replace(sub, url=str(changes["url"]))
            if "event_types" in changes:
                sub = replace(sub, event_types=check_event_types(changes["event_types"]))
            if "member_channel" in changes:
                sub = replace(sub, member_channel=_member_channel(changes["member_channel"]))
            if "enabled" in changes:
                if not isinstance(changes["enabled"], bool):
                    raise InvalidRequest("enabled is true or false", field="enabled")
                sub = replace(sub, enabled=changes["enabled"])
            repo.update_subscription(sub)
            return subscription_json(sub)

    def rotate_secret(self, program_id: str, subscription_id: str, overlap: timedelta | None = None,
                      idempotency_key: str | None = None) -> dict[str, Any]:
        """A new secret; the previous one still signs (beside it) until the overlap ends."""
        overlap = DEFAULT_OVERLAP if overlap is None else overlap
        if not timedelta(0) <= overlap <= MAX_OVERLAP:
            raise InvalidRequest("overlap_seconds is 0 to 30 days", field="overlap_seconds")
        with self.db.write() as conn:
            repo = NotificationsRepository(conn)
            sub = self._find(repo, program_id, subscription_id, lock=True)
            remembered = Remembered(conn, program_id, idempotency_key,
                                    {"rotate": subscription_id, "overlap": overlap.total_seconds()})
            previous = remembered.previous()
            if previous is not None:
                return dict(previous)
            now = self.clock.now()
            sub = replace(sub, secret=new_secret(), previous_secret=sub.secret if overlap else None,
                          previous_secret_until=now + overlap if overlap else None)
            repo.update_subscription(sub)
            return dict(remembered.remember(subscription_json(sub, with_secret=True), now))

    def delete(self, program_id: str, subscription_id: str) -> dict[str, Any]:
        with self.db.write() as conn:
            repo = NotificationsRepository(conn)
            sub = self._find(repo, program_id, subscription_id, lock=True)
            repo.delete_subscription(subscription_id)
            return subscription_json(sub)

    def deliveries(self, program_id: str, subscription_id: str | None = None, status: str | None = None,
                   cursor: str | None = None, limit: int = 50) -> Page:
        after, limit = _cursor(cursor), _limit(limit)
        with self.db.read() as conn:
            repo = NotificationsRepository(conn)
            if subscription_id is not None:
                self._find(repo, program_id, subscription_id)
            else:
                LedgerRepository(conn).get_program(program_id)
            found = repo.deliveries(program_id, subscription_id=subscription_id, status=status, after=after,
                                    limit=limit + 1)
        items = found[:limit]
        return Page([delivery_json(d) for d in items], str(items[-1].id) if len(found) > limit else None)

    def redeliver(self, program_id: str, delivery_id: str, idempotency_key: str | None = None) -> dict[str, Any]:
        """Sends the delivery again at the next dispatch, from its first try (a dead one, one
        delivered that a receiver lost, one waiting for its next try), with the same id."""
        with self.db.write() as conn:
            repo = NotificationsRepository(conn)
            found = repo.delivery(delivery_id)
            if found is None or found.program_id != program_id:
                raise UnknownDelivery(f"no delivery {delivery_id!r} in program {program_id}")
            remembered = Remembered(conn, program_id, idempotency_key, {"redeliver": delivery_id})
            previous = remembered.previous()
            if previous is not None:
                return dict(previous)
            now = self.clock.now()
            repo.redeliver(delivery_id, now)
            again = repo.delivery(delivery_id)
            assert again is not None
            return dict(remembered.remember(delivery_json(again), now))

    @staticmethod
    def _find(repo: NotificationsRepository, program_id: str, subscription_id: str, lock: bool = False) -> Subscription:
        sub = repo.subscription(subscription_id, lock=lock)
        if sub is None or sub.program_id != program_id:
            raise UnknownSubscription(f"no webhook subscription {subscription_id!r} in program {program_id}")
        return sub


