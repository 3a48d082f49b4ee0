"""Business events: recorded once (idempotent by event id), judged by the ruleset in force
at the event's time, posted to the ledger, with every effect returned. All of it, the event
row, the ledger's transactions and every counter, in one database transaction.

`quote` runs the same judgement in a read transaction and writes nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from ..domain import Money, Program
from ..domain import commands as cmd
from ..domain.clock import Clock, SystemClock, as_utc
from ..domain.errors import (CurrencyMismatch, DomainError, IdempotencyConflict, InvalidRequest, NoRulesInForce,
                             ProgramMismatch, RefundExceedsOrder, UnknownMember, UnknownOrder)
from ..rules import BUILTIN_EVENT_TYPES, Beneficiary, Evaluation, EvaluationError, Event, Ruleset, evaluate
from ..storage.bulk import mark
from ..tiers import Activity
from ..storage.database import Database
from ..storage.events_repository import EventsRepository
from ..storage.facts_repository import FactsRepository, LockedMember
from ..storage.ledger_repository import LedgerRepository
from . import member_facts as mf, receipts
from .event_scope import EventScope
from .extensions import Extensions
from .ledger import CLOCK_SKEW, LARGE_BATCH, LedgerService, Operation, _collector_paused
from .reads import _Scratch
from .referrals import record_referral, referrer_for
from .rulesets import RulesetService

MAX_RACE_RETRIES = 3
REFERRAL_LOCK = "program/referrals/lock"  # serialises referral events of a program: loops are checked whole


@dataclass(frozen=True, slots=True)
class Item:
    category: str
    amount: int = 0
    quantity: int = 1


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


@dataclass
class _Judgement:
    """One event's judgement, as it is built."""

    program_id: str
    event: EventInput
    at: datetime
    ruleset_hash: str
    member_id: str
    write: bool
    enrolled: dict[str, Any] | None = None
    evaluation: Evaluation = field(default_factory=Evaluation)
    extra_withheld: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    reversal: dict[str, Any] | None = None
    rule_event: Event | None = None
    ruleset: Ruleset | None = None


class EventService:
    def __init__(self, db: Database, clock: Clock | None, ledger: LedgerService, rulesets: RulesetService,
                 extensions: Extensions | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.ledger = ledger
        self.rulesets = rulesets
        self.extensions = extensions or Extensions()  # tiers and engagement (container.py wires them)

    def record(self, program_id: str, event: EventInput) -> dict[str, Any]:
        self._check(event)
        body = event.canonical()
        print_ = hashlib.sha256(body.encode("utf-8")).hexdigest()
        races = 0
        while True:
            try:
                with self.db.write() as conn:
                    stored = EventsRepository(conn).find(program_id, event.event_id)
                    if stored is not None:
                        if stored.fingerprint != print_:
                            raise IdempotencyConflict(f"event {event.event_id!r} was recorded with another body")
                        return stored.result
                    scope = EventScope.open(conn, program_id, self.ledger._programs)
                    return self._record_in(conn, scope, event, body, print_)
            except IntegrityError:
                # The same event id (or enrolment, or referral) committed concurrently: look again.
                races += 1
                if races > MAX_RACE_RETRIES:
                    raise

    def record_many(self, program_id: str, events: Sequence[EventInput]) -> list[dict[str, Any] | DomainError]:
        """The events judged in order, in one database transaction, with the results of
        sending them one by one to `record`: each event's result, or its error in its
        place. A failing event leaves no trace (it runs in its own savepoint); the others
        are recorded as if it had never been sent. The program, its ruleset timeline, the
        batch's members, profiles, referrers and the counters the events read are loaded
        up front instead of once per event."""
        outcomes: list[dict[str, Any] | DomainError | None] = [None] * len(events)
        bodies: list[tuple[str, str]] = []
        for index, event in enumerate(events):
            body = event.canonical()
            bodies.append((body, hashlib.sha256(body.encode("utf-8")).hexdigest()))
            try:
                self._check(event)
            except DomainError as error:
                outcomes[index] = error
        races = 0
        with _collector_paused(len(events) >= LARGE_BATCH):
            while True:
                try:
                    with self.db.write() as conn:
                        return self._record_batch(conn, program_id, events, bodies, list(outcomes))
                except IntegrityError:
                    races += 1  # as in `record`: a concurrent writer took an id first; look again
                    if races > MAX_RACE_RETRIES:
                        raise

    def _record_batch(self, conn: Connection, program_id: str, events: Sequence[EventInput],
                      bodies: list[tuple[str, str]], outcomes: list[dict[str, Any] | DomainError | None],
                      ) -> list[dict[str, Any] | DomainError]:
        scope = EventScope.open(conn, program_id, self.ledger._programs)
        stored = EventsRepository(conn).find_many(program_id, [e.event_id for e in events])
        seen: dict[str, tuple[str, dict[str, Any]]] = {e: (r.fingerprint, r.result) for e, r in stored.items()}
        scope.preload(*self._batch_wants(scope, events, outcomes))
        for index, event in enumerate(events):
            if outcomes[index] is not None:
                continue
            body, print_ = bodies[index]
            if event.event_id in seen:
                stored_print, result = seen[event.event_id]
                outcomes[index] = result if stored_print == print_ else IdempotencyConflict(
                    f"event {event.event_id!r} was recorded with another body")
                continue
            savepoint = conn.begin_nested()
            try:
                result = self._record_in(conn, scope, event, body, print_)
            except DomainError as error:
                savepoint.rollback()
                scope.failed()
                outcomes[index] = error
                continue
            savepoint.commit()
            seen[event.event_id] = (print_, result)
            outcomes[index] = result
        return outcomes  # type: ignore[return-value]

    @staticmethod
    def _batch_wants(scope: EventScope, events: Sequence[EventInput], outcomes: Sequence[Any],
                     ) -> tuple[set[str], dict[str, set[str]]]:
        """The batch's members, and per member the counters its events read to state the
        member (purchases, monthly purchases, quarterly spend, signups) and their orders'."""
        members = {e.member_id for e, o in zip(events, outcomes) if e.member_id and o is None}
        profiles = FactsRepository(scope.conn).profiles(sorted(members)) if members else {}
        wants: dict[str, set[str]] = {}
        for event, outcome in zip(events, outcomes):
            if not event.member_id or outcome is not None:
                continue
            at = as_utc(event.occurred_at) if event.occurred_at else None
            keys = wants.setdefault(event.member_id, {mf.PURCHASES_TOTAL, mf.SIGNUPS})
            if at is not None:
                profile = profiles.get(event.member_id)
                zone = (profile.time_zone if profile else None) or scope.policy.default_time_zone
                keys |= {mf.month_key(at, zone), mf.spend_key(mf.quarter_of(at, zone))}
            if event.order_id:
                keys |= {mf.order_key(event.order_id, what) for what in ("spend", "points", "refunded", "quarter")}
        return members, wants

    def _record_in(self, conn: Connection, scope: EventScope, event: EventInput, body: str,
                   print_: str) -> dict[str, Any]:
        """Judges and records one event inside the caller's transaction."""
        result, increments = self._judge(conn, scope, event, write=True)
        EventsRepository(conn).add(
            scope.program.id, event.event_id, event.type, result["member_id"], event.order_id,
            datetime.fromisoformat(result["occurred_at"]), self.clock.now(), print_, body, result["ruleset"], result)
        scope.succeeded(increments)
        return result

    def quote(self, program_id: str, event: EventInput) -> dict[str, Any]:
        self._check(event)
        with self.db.read() as conn:
            return self._judge(conn, EventScope.open(conn, program_id, self.ledger._programs), event,
                               write=False)[0]

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

    # ------------------------------------------------------------ judging

    def _judge(self, conn: Connection, scope: EventScope, event: EventInput, *,
               write: bool) -> tuple[dict[str, Any], list[tuple[str, dict[str, int]]]]:
        """The event's result, and the counter increments it wrote ((owner, {key: n}) pairs)."""
        program, program_id = scope.program, scope.program.id
        at = as_utc(event.occurred_at) if event.occurred_at else self.clock.now()
        found = scope.in_force(at)
        if found is None:
            raise NoRulesInForce(f"program {program_id} has no ruleset in force at {receipts.iso(at)}")
        digest, ruleset = found
        if event.type not in BUILTIN_EVENT_TYPES and event.type not in ruleset.event_types:
            raise InvalidRequest(f"unknown event type {event.type!r}: neither built in nor declared by the "
                                 f"ruleset in force ({ruleset.version!r})")
        if event.amount is not None and event.amount.currency != program.currency:
            raise CurrencyMismatch(f"the event is in {event.amount.currency}; program {program_id} counts in "
                                   f"{program.currency}")
        facts = FactsRepository(conn)
        judgement = _Judgement(program_id, event, at, digest, event.member_id or "", write, ruleset=ruleset)
        member = self._member(conn, scope, judgement)
        referrer = scope.referrer_of(member.id) if member.enrolled_at is not None else None
        budget_keys = [f"program/{rule.id}/budget/points" for phase in ruleset.phases(event.type)
                       for rule in phase if rule.budget is not None]
        if event.type == "referral":
            budget_keys.append(REFERRAL_LOCK)
        locked = self._lock(scope, [member.id, *([referrer] if referrer else [])]) if write else {}
        if write:
            facts.lock_program_counters(program_id, budget_keys)
        counters = _Counters(scope, member.id)
        if event.type == "referral":
            referrer, is_new = referrer_for(conn, program_id, member.id, event.referral_code,
                                            counters.get(mf.PURCHASES_TOTAL, 0))
            if write and is_new:
                locked |= self._lock(scope, [referrer])
                record_referral(conn, program_id, referrer, member.id, event.event_id, at)
                scope.referrers.pop(member.id, None)  # the new relation, read again when asked
        profile = scope.profile(member.id)
        time_zone = profile.time_zone or scope.policy.default_time_zone
        state = mf.member_state(member.id, member.enrolled_at or at, profile, time_zone,
                                self.extensions.member_tier(conn, program_id, member.id, at), counters, at,
                                event.type == "purchase")
        rule_event = Event(event.type, event.amount.amount if event.amount else 0,
                           event.amount.currency if event.amount else None, event.order_id,
                           tuple(sorted({i.category for i in event.items})), sum(i.quantity for i in event.items),
                           referrer, tuple(sorted(set(event.tags))))
        judgement.rule_event = rule_event
        if event.type == "signup" and counters.get(mf.SIGNUPS, 0):
            judgement.extra_withheld.append({"rule_id": None, "points": 0,
                                             "reason": "signup already recorded: the welcome bonus is once ever"})
        else:
            try:
                judgement.evaluation = evaluate(ruleset, rule_event, state, counters, at)
            except EvaluationError as error:
                raise InvalidRequest(str(error)) from None
        awards = self._payable(scope, judgement, locked)
        operations = [Operation(command, at=at) for command in self._earns(judgement, awards, ruleset)]
        reversal = self._refund(judgement, counters) if event.type == "refund" else None
        if reversal is not None and write:
            operations.append(Operation(reversal[0], at=at))
        increments: list[tuple[str, dict[str, int]]] = []
        if write:
            outcomes = self.ledger.apply_in(conn, program_id, operations) if operations else []
            judgement.receipts = [dict(o) for o in outcomes]  # type: ignore[arg-type]
            increments = self._count(facts, judgement, counters, awards, time_zone, reversal)
        if reversal is not None:
            receipt = judgement.receipts[-1] if write else self._preview_refund(conn, program, reversal[0], at)
            judgement.reversal = {"order_id": event.order_id, "refund": reversal[1], "refund_receipt": receipt}
        return self._response(conn, judgement, awards), increments

    @staticmethod
    def _lock(scope: EventScope, member_ids: list[str]) -> dict[str, LockedMember]:
        """The members, locked (PostgreSQL) unless the batch locked them up front."""
        known = {i: scope.members[i] for i in member_ids if scope.members.get(i) is not None}
        rest = [i for i in member_ids if i not in known]
        return known | (FactsRepository(scope.conn).lock_members(rest) if rest else {})  # type: ignore[operator]

    def _member(self, conn: Connection, scope: EventScope, judgement: _Judgement) -> LockedMember:
        event = judgement.event
        repo = LedgerRepository(conn)
        member_id = event.member_id
        if event.type == "signup":
            if member_id is None:
                member_id = repo.member_ids_for_refs(judgement.program_id, [event.external_ref or ""]).get(
                    event.external_ref or "")
            if member_id is None or repo.program_of_member(member_id) is None:
                ref = event.external_ref or member_id or ""
                if not judgement.write:  # a quote for someone not enrolled yet: a member enrolled now
                    judgement.member_id = member_id or "(new member)"
                    return LockedMember(judgement.member_id, judgement.program_id, "active", None)  # type: ignore[arg-type]
                receipt = self.ledger.apply_in(conn, judgement.program_id,
                                               [Operation(cmd.Enroll(ref, member_id), at=judgement.at)])[0]
                judgement.enrolled = receipt["member"]  # type: ignore[index]
                member_id = judgement.enrolled["id"]  # type: ignore[index]
                scope.members.pop(member_id, None)  # a batch may have loaded them as absent
        assert member_id is not None
        found = scope.member(member_id)  # locked below with the referrer, in id order
        if found is None:
            raise UnknownMember(f"no member {member_id!r} in program {judgement.program_id}")
        if found.program_id != judgement.program_id:
            raise ProgramMismatch(f"member {member_id} belongs to another program")
        judgement.member_id = member_id
        return found

    def _payable(self, scope: EventScope, judgement: _Judgement, locked: dict[str, LockedMember]) -> list[Any]:
        """The awards that can be paid: points for a referrer who is no longer active are
        withheld rather than failing the referee's purchase."""
        payable = []
        for award in judgement.evaluation.points:
            if award.to is Beneficiary.REFERRER:
                row = locked.get(award.member_id) or scope.member(award.member_id)
                if row is None or row.status != "active":
                    judgement.extra_withheld.append({"rule_id": award.rule_id, "points": award.points,
                                                     "reason": "the referrer is not an active member"})
                    continue
            payable.append(award)
        return payable

    def _earns(self, judgement: _Judgement, awards: list[Any], ruleset: Ruleset) -> list[cmd.Earn]:
        event = judgement.event
        earns = []
        money_placed = False
        for award in awards:
            own = award.member_id == judgement.member_id
            money = None
            if own and event.type == "purchase" and event.amount is not None and not money_placed:
                # The order's money on one earn only: the ledger sums money across an order's earns.
                money, money_placed = event.amount, True
            earns.append(cmd.Earn(award.member_id, points=award.points, money=money,
                                  order_ref=event.order_id if own else None, rule_id=award.rule_id,
                                  ruleset_hash=judgement.ruleset_hash))
        return earns

    def _refund(self, judgement: _Judgement, counters: Mapping[str, int]) -> tuple[cmd.Reverse, dict[str, Any]] | None:
        event = judgement.event
        order_id = event.order_id or ""
        spend = counters.get(mf.order_key(order_id, "spend"), 0)
        points = counters.get(mf.order_key(order_id, "points"), 0)
        if not spend and not points:
            raise UnknownOrder(f"no purchase {order_id!r} of member {judgement.member_id} was recorded")
        remaining = spend - counters.get(mf.order_key(order_id, "refunded"), 0)
        amount = event.amount.amount if event.amount is not None else remaining
        if remaining <= 0:
            raise RefundExceedsOrder(f"order {order_id} is already fully refunded")
        if amount > remaining:
            raise RefundExceedsOrder(f"refund of {amount} exceeds the {remaining} left of order {order_id}",
                                     refundable=remaining)
        money = Money(amount, event.amount.currency) if event.amount is not None and amount < remaining else None
        refund = {"amount": amount, "full": amount == remaining}
        return cmd.Reverse(judgement.member_id, order_id, refund=money), refund

    @staticmethod
    def _preview_refund(conn: Connection, program: Program, reverse: cmd.Reverse, at: datetime) -> dict[str, Any]:
        """What the refund would claw back: the member's ledger, loaded without locks, reversed
        in memory only (ids from a scratch source; nothing is saved)."""
        ledger = LedgerRepository(conn).load_ledgers(program, [reverse.member_id], with_lots={reverse.member_id},
                                                     order_refs={reverse.member_id: {reverse.order_ref}},
                                                     lock=False)[reverse.member_id]
        refund = ledger.reverse(reverse, at, _Scratch())
        return {"refund": receipts.refund_json(refund), "transaction": None}

    def _count(self, facts: FactsRepository, judgement: _Judgement, counters: Mapping[str, int], awards: list[Any],
               time_zone: str, reversal: tuple[cmd.Reverse, dict[str, Any]] | None,
               ) -> list[tuple[str, dict[str, int]]]:
        event = judgement.event
        mine: dict[str, int] = {}
        theirs: dict[str, int] = {}
        for use in judgement.evaluation.counters:
            (theirs if use.key.startswith("program/") else mine)[use.key] = use.amount
        if event.type == "purchase":
            own_points = sum(a.points for a in awards if a.member_id == judgement.member_id)
            counts = mf.purchase_counts(event.order_id, event.amount.amount if event.amount else 0, own_points,
                                        judgement.at, time_zone)
            if event.order_id and counters.get(mf.order_key(event.order_id, "quarter"), 0):
                counts.pop(mf.order_key(event.order_id, "quarter"))  # an order's quarter is its first purchase's
            mine = _add(mine, counts)
        elif event.type == "signup":
            mine = _add(mine, {mf.SIGNUPS: 1})
        if reversal is not None:
            order_id = event.order_id or ""
            amount = int(reversal[1]["amount"])
            quarter = counters.get(mf.order_key(order_id, "quarter"), 0)
            mine = _add(mine, {mf.order_key(order_id, "refunded"): amount,
                               **({mf.spend_key(mf.quarter_from_number(quarter)): -amount} if quarter else {})})
        facts.add_member_counters(judgement.member_id, mine)
        facts.add_program_counters(judgement.program_id, theirs)
        return [(judgement.member_id, mine), (judgement.program_id, theirs)]

    # ------------------------------------------------------------ the answer

    def _response(self, conn: Connection, judgement: _Judgement, awards: list[Any]) -> dict[str, Any]:
        earn_receipts = judgement.receipts[:len(awards)] if judgement.write else [{} for _ in awards]
        points = [{"rule_id": award.rule_id, "points": award.points, "member_id": award.member_id,
                   "to": award.to.value, "transaction": receipt.get("transaction"), "log": receipt.get("log", [])}
                  for award, receipt in zip(awards, earn_receipts)]
        engagement = self.extensions.engagement_effects(conn, judgement.program_id, judgement.member_id,
                                                        judgement.rule_event, judgement.evaluation, judgement.at,
                                                        write=judgement.write, ruleset=judgement.ruleset)
        points += engagement.pop("points", [])  # challenge rewards: earns of the same event
        tiers = self.extensions.tier_changes(conn, judgement.program_id, sorted({judgement.member_id,
                                                                                *(p["member_id"] for p in points)}),
                                             judgement.at, write=judgement.write,
                                             **({} if judgement.write else _quoted(judgement, points)))
        withheld = [{"rule_id": w.rule_id, "reason": w.reason, "points": w.points}
                    for w in judgement.evaluation.withheld] + judgement.extra_withheld + engagement.pop("withheld", [])
        result: dict[str, Any] = {
            "event_id": judgement.event.event_id, "recorded": judgement.write, "ruleset": judgement.ruleset_hash,
            "type": judgement.event.type, "member_id": judgement.member_id, "occurred_at": receipts.iso(judgement.at),
            "effects": {"points": points, **engagement, "tier_changes": tiers},
            "total_points": sum(p["points"] for p in points if p["member_id"] == judgement.member_id),
            "withheld": withheld, "balance": _balance(conn, judgement.member_id),
        }
        if judgement.enrolled is not None:
            result["enrolled"] = judgement.enrolled
        if judgement.reversal is not None:
            result["reversal"] = judgement.reversal
        return result


class _Counters(Mapping[str, int]):
    """The counters an evaluation reads, through the scope (which remembers them for the
    transaction); `program/…` keys are the program's, the others the member's."""

    def __init__(self, scope: EventScope, member_id: str) -> None:
        self.scope = scope
        self.member_id = member_id
        self._seen: dict[str, int] = {}

    def get(self, key: str, default: Any = 0) -> Any:  # type: ignore[override]
        value = self._seen.get(key)
        if value is None:
            owner = self.scope.program.id if key.startswith("program/") else self.member_id
            value = self._seen[key] = self.scope.counter(owner, key)
        return value if value else default

    def __getitem__(self, key: str) -> int:
        return int(self.get(key, 0))

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._seen)

    def __len__(self) -> int:
        return len(self._seen)


def _quoted(judgement: _Judgement, points: list[dict[str, Any]]) -> dict[str, Any]:
    """What a quoted event would add to its members' tier activity (it is not in the ledger):
    each earn, the purchase's money on the member's first."""
    event = judgement.event
    quoted, members = [], []
    money_placed = event.type != "purchase" or event.amount is None
    for award in points:
        spend = 0
        if award["member_id"] == judgement.member_id and not money_placed:  # as `_earns` places it
            spend, money_placed = event.amount.amount if event.amount else 0, True
        quoted.append(Activity(judgement.at, spend=spend, points=award["points"], purchases=1 if spend else 0))
        members.append(award["member_id"])
    return {"quoted": quoted, "quoted_for": members}


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    merged = dict(a)
    for key, value in b.items():
        merged[key] = merged.get(key, 0) + value
    return merged


def _balance(conn: Connection, member_id: str) -> dict[str, int]:
    # Driver-level: once per event, and building the statement cost more than running it.
    m = mark(conn)
    row = conn.exec_driver_sql(f"SELECT available, pending, held, debt FROM members WHERE id = {m}",
                               (member_id,)).first()
    if row is None:
        return {"available": 0, "pending": 0, "held": 0, "debt": 0}
    return {"available": row[0], "pending": row[1], "held": row[2], "debt": row[3]}
