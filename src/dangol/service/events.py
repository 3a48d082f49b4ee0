"""Business events: recorded once (idempotent by event id), judged by the ruleset in force
at the event's time, posted to the ledger, with every effect returned. All of it, the event
row, the ledger's transactions and every counter, in one database transaction.

A batch (`record_many`; `record` is a batch of one) is three steps, in `_record_batch`:

1. load: `EventBatch.preload` reads what the batch's events need in a few set-based
   queries (members, locked in id order; profiles, referrers, counters, ledgers with the
   orders refunds need, tier standings, engagement state, the budgets' counters), then
   the batch's event ids in one query;
2. decide: `EventBatch.judge`, event by event, in memory: the rules (`rules.evaluate`),
   the member ledgers (`domain.MemberLedger`, in the ledger session), tiers and
   engagement (their sessions), producing receipts and counter increments;
3. write: `EventBatch.flush` writes it all, each table in one multi-row statement, and
   the transaction commits once.

What still reads or writes between 1 and 3 is what the load cannot know in advance: a
member the batch did not name (a sign-up's new member, a referrer), a new referral
relation, a budget counter row made to exist.

`quote` runs the same judgement in a read transaction and writes nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..domain import Money
from ..domain.clock import Clock, SystemClock, as_utc
from ..domain.errors import DomainError, IdempotencyConflict, InvalidRequest
from ..engagement import Item, Occurrence
from ..storage.database import Database
from ..storage.events_repository import EventsRepository
from ..storage.facts_repository import FactsRepository, LockedMember
from ..storage.statistics import refresh_stale_statistics
from . import receipts
from .event_batch import EventBatch, EventFailed
from .extensions import Extensions
from .ledger import CLOCK_SKEW, LARGE_BATCH, LedgerService, collector_paused
from .rulesets import RulesetService


@dataclass(frozen=True, slots=True)
class EventInput:
    """A business event as an integration sends it (the API's body, a line of a JSONL file)."""

    event_id: str
    type: str
    member_id: str | None = None
    external_ref: str | None = None
    occurred_at: datetime | None = None
    amount: Money | None = None
    order_id: str | None = None
    items: tuple[Item, ...] = ()
    referral_code: str | None = None
    fields: tuple[tuple[str, str | int | bool | None], ...] = ()
    tags: tuple[str, ...] = ()

    def canonical(self) -> str:
        """The body as recorded: what idempotency compares and replay reads back."""
        body: dict[str, Any] = {"event_id": self.event_id, "type": self.type}
        for name in ("member_id", "external_ref", "order_id", "referral_code"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        if self.occurred_at is not None:
            body["occurred_at"] = receipts.iso(self.occurred_at)
        if self.amount is not None:
            body["amount"] = {"amount": self.amount.amount, "currency": self.amount.currency}
        if self.items:
            body["items"] = [{"category": i.category, "amount": i.amount, "quantity": i.quantity} for i in self.items]
        if self.fields:
            body["fields"] = dict(self.fields)
        if self.tags:
            body["tags"] = sorted(set(self.tags))
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def occurrence(self) -> Occurrence:
        """What challenges count of the event: its type, amount and items, each item with
        its own amount (a category challenge counts its category's items, not the order)."""
        return Occurrence(self.type, self.amount.amount if self.amount else 0, self.items)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> EventInput:
        """The inverse of `canonical` (for replay and simulation)."""
        amount = body.get("amount")
        occurred = body.get("occurred_at")
        return cls(body["event_id"], body["type"], body.get("member_id"), body.get("external_ref"),
                   datetime.fromisoformat(occurred) if occurred else None,
                   Money(amount["amount"], amount["currency"]) if amount else None, body.get("order_id"),
                   tuple(Item(i["category"], i.get("amount", 0), i.get("quantity", 1)) for i in body.get("items", ())),
                   body.get("referral_code"), tuple(sorted(body.get("fields", {}).items())),
                   tuple(body.get("tags", ())))


class EventService:
    def __init__(self, db: Database, clock: Clock | None, ledger: LedgerService, rulesets: RulesetService,
                 extensions: Extensions | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.ledger = ledger
        self.rulesets = rulesets
        self.extensions = extensions or Extensions()  # tiers and engagement (container.py wires them)

    def record(self, program_id: str, event: EventInput) -> dict[str, Any]:
        """One event: its result, or its error raised (nothing written)."""
        outcome = self.record_many(program_id, [event])[0]
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    def record_many(self, program_id: str, events: Sequence[EventInput]) -> list[dict[str, Any] | DomainError]:
        """The events judged in order, in one database transaction, with the results of
        sending them one by one: each event's result, or its error in its place. A failing
        event leaves no trace; the others are recorded as if it had never been sent (the
        batch runs again without it when it failed after changing something). An event id
        already recorded gets its recorded result, or a conflict if the body differs."""
        outcomes: list[dict[str, Any] | DomainError | None] = [None] * len(events)
        bodies: list[tuple[str, str]] = []
        for index, event in enumerate(events):
            body = event.canonical()
            bodies.append((body, hashlib.sha256(body.encode("utf-8")).hexdigest()))
            try:
                self._check(event)
            except DomainError as error:
                outcomes[index] = error
        with collector_paused(len(events) >= LARGE_BATCH):
            try:
                # A concurrent writer that took an event id (or enrolment) first: look again.
                results = self.db.retrying_races(lambda: self._write_batch(program_id, events, bodies, outcomes))
            except EventFailed as failure:  # a batch of one: rolled back, nothing else to answer
                return [failure.error]
            if len(events) >= LARGE_BATCH:  # a bulk send, as an import: keep the plans on indexes
                refresh_stale_statistics(self.db)
            return results

    def _write_batch(self, program_id: str, events: Sequence[EventInput], bodies: list[tuple[str, str]],
                     checked: list[dict[str, Any] | DomainError | None]) -> list[dict[str, Any] | DomainError]:
        """One transaction. A run in which an event fails after it changed the batch's state
        is rolled back to a savepoint and the batch runs again without it, in this same
        transaction, its members still locked (they are locked before the savepoint: rolling
        back to it would release locks taken after it), as `LedgerService._write` does: so
        the refusal is judged against the very state the other events' answers are given
        against. Run again in a new transaction, after another process's write to the same
        members, the other events would answer from balances the refusal never saw. A batch
        of one event has no other answers: its transaction is rolled back (`EventFailed`)."""
        outcomes = list(checked)  # refusals of a transaction rolled back (a lost race) are judged again
        with self.db.write() as conn:
            if len(events) == 1:
                return self._record_batch(conn, program_id, events, bodies, outcomes)
            held = FactsRepository(conn).lock_members(e.member_id for e in events if e.member_id)
            while True:
                try:
                    with conn.begin_nested():
                        return self._record_batch(conn, program_id, events, bodies, list(outcomes), held)
                except EventFailed as failure:
                    outcomes[failure.index] = failure.error  # rolled back to the savepoint: again without it

    def _record_batch(self, conn: Connection, program_id: str, events: Sequence[EventInput],
                      bodies: list[tuple[str, str]], outcomes: list[dict[str, Any] | DomainError | None],
                      held: Mapping[str, LockedMember] | None = None) -> list[dict[str, Any] | DomainError]:
        """Load, decide, write: the batch's state read up front (`EventBatch.preload`), each
        event judged against it in memory (`EventBatch.judge`), everything written at the
        end (`EventBatch.flush`). `held`: members this transaction has locked already."""
        batch = EventBatch(self, conn, program_id, write=True)
        pending = [e for e, o in zip(events, outcomes) if o is None]
        # 1. Load: everything the batch's events read, their members locked first.
        batch.preload(pending, held)
        # The event ids, in one query, only now that the members are locked: a duplicate sent
        # while its original was in flight has waited for it on those locks and finds its
        # result, rather than judging the event again against what it left ("already fully
        # refunded"). PostgreSQL; on SQLite nothing has been written since BEGIN.
        stored = EventsRepository(conn).find_many(program_id, [e.event_id for e in pending])
        seen: dict[str, tuple[str, dict[str, Any]]] = {e: (r.fingerprint, r.result) for e, r in stored.items()}
        for index, event in enumerate(events):
            if outcomes[index] is not None:
                continue
            body, print_ = bodies[index]
            if event.event_id in seen:
                stored_print, result = seen[event.event_id]
                outcomes[index] = result if stored_print == print_ else IdempotencyConflict(
                    f"event {event.event_id!r} was recorded with another body")
                continue
            try:  # 2. Decide, in memory.
                result = batch.judge(event, body, print_)
            except DomainError as error:
                if batch.changed:
                    raise EventFailed(index, error) from None
                batch.forget()
                outcomes[index] = error
                continue
            seen[event.event_id] = (print_, result)
            outcomes[index] = result
        batch.flush()  # 3. Write: every table in bulk, in this one transaction.
        return outcomes  # type: ignore[return-value]

    def quote(self, program_id: str, event: EventInput) -> dict[str, Any]:
        """The event's result as `record` would give it now; nothing is written."""
        self._check(event)
        with self.db.read() as conn:
            return EventBatch(self, conn, program_id, write=False).judge(event, "", "")

    def _check(self, event: EventInput) -> None:
        if event.occurred_at is not None and as_utc(event.occurred_at) > self.clock.now() + CLOCK_SKEW:
            raise InvalidRequest("an event cannot happen in the future")
        if event.type in ("purchase", "refund") and not event.order_id:
            raise InvalidRequest(f"a {event.type} event needs an order_id")
        if event.type == "purchase" and event.amount is None:
            raise InvalidRequest("a purchase event needs an amount")
        if event.type != "signup" and not event.member_id:
            raise InvalidRequest(f"a {event.type} event needs a member_id")
        if event.type == "signup" and not (event.member_id or event.external_ref):
            raise InvalidRequest("a signup event needs an external_ref (or a member_id)")
