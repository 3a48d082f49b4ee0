"""One transaction of the events service. Its events are judged in order against state
loaded once: the scope's members, profiles and counters, the ledger session's member
ledgers, and the tiers' and engagement's sessions. Everything they change is written
once, at `flush`: the ledger's rows and log entries, the counters, tiers and engagement
rows, and the event rows. A thousand events cost a few dozen statements, not a few
dozen each.

An event that fails before it changed anything is forgotten (the scope's journal) and
the batch goes on. One that fails after it changed something raises `EventFailed`: the
caller rolls back to the savepoint it took after locking the batch's members and runs
the batch again without it, in the same transaction, as `LedgerService.execute` does
with operations. Either way the failed event leaves no
trace.

A quote (`write=False`) judges one event the same way and writes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ..domain import Money, Program
from ..domain import commands as cmd
from ..domain.clock import as_utc
from ..domain.errors import (Conflict, CurrencyMismatch, DomainError, InvalidRequest, NoRulesInForce,
                             ProgramMismatch, RefundExceedsOrder, UnknownMember, UnknownOrder)
from ..rules import (BUILTIN_EVENT_TYPES, Beneficiary, Evaluation, EvaluationError, Event, Ruleset,
                     cap_counter_keys, evaluate)
from ..storage.bulk import mark
from ..storage.database import LostRace
from ..storage.events_repository import EventsRepository
from ..storage.facts_repository import FactsRepository, LockedMember
from ..storage.ledger_repository import LedgerRepository
from ..storage.tier_repository import QUALIFYING, activity_of
from ..tiers import Activity
from . import member_facts as mf, receipts
from .event_scope import EventScope
from .fraud.screening import held, screen
from .ledger import Operation, Receipt, OperationFailed
from .reads import _Scratch
from .referrals import record_referral, referrer_for

if TYPE_CHECKING:
    from .events import EventInput, EventService

# Ids reserved ahead per event: an event's effects for a member are one earn (every rule that
# pays it, in one transaction), now and then the referrer's, or a challenge reward.
TRANSACTIONS_PER_EVENT = 2
REFERRAL_LOCK = "program/referrals/lock"  # serialises referral events of a program: loops are checked whole


class EventFailed(Exception):
    """Event `index` of the batch failed after it had changed the batch's state."""

    def __init__(self, index: int, error: DomainError) -> None:
        super().__init__(error.detail)
        self.index = index
        self.error = error


@dataclass
class _Judgement:
    """One event's judgement, as it is built."""

    program_id: str
    event: EventInput
    at: datetime
    ruleset_hash: str
    ruleset: Ruleset
    member_id: str
    enrolled: dict[str, Any] | None = None
    evaluation: Evaluation = field(default_factory=Evaluation)
    extra_withheld: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    reversal: dict[str, Any] | None = None
    fraud: dict[str, Any] | None = None  # the screening's flag or hold (absent when it passed)


class EventBatch:
    def __init__(self, service: EventService, conn: Connection, program_id: str, *, write: bool) -> None:
        self.clock = service.clock
        self.conn = conn
        self.write = write
        self.scope = EventScope.open(conn, program_id, service.ledger._programs)
        self.program: Program = self.scope.program
        self.ledger = service.ledger.session(conn, program_id) if write else None
        self.hooks = service.extensions.open(conn, program_id, write=write, earn=self._earn)
        self.changed = False  # whether the event being judged has changed the batch's state yet
        self._locked: set[str] = set()  # program counters locked in this transaction
        self._rows: list[tuple[EventInput, str, str, dict[str, Any]]] = []
        self._held_until: datetime | None = None  # the event being judged is held for review until then

    # ------------------------------------------------------------ the batch, up front

    def preload(self, events: Sequence[EventInput], held: Mapping[str, LockedMember] | None = None) -> None:
        """The batch's members (locked on PostgreSQL, in id order), their profiles,
        referrers, counters, ledgers (with lots and orders for those with refunds), tier
        standings and engagement state, and the budgets its rulesets may spend: a few
        queries for the whole batch."""
        members = sorted({e.member_id for e in events if e.member_id})
        if not members:
            return
        profiles = FactsRepository(self.conn).profiles(members)
        wants: dict[str, set[str]] = {}
        refunds: dict[str, set[str]] = {}
        times: list[datetime] = []
        for event in events:
            if not event.member_id:
                continue
            at = self._time(event)
            times.append(at)
            keys = wants.setdefault(event.member_id, {mf.PURCHASES_TOTAL, mf.SIGNUPS})
            profile = profiles.get(event.member_id)
            zone = (profile.time_zone if profile else None) or self.scope.policy.default_time_zone
            keys |= {mf.month_key(at, zone), mf.spend_key(mf.quarter_of(at, zone))}
            if event.order_id:
                keys |= {mf.order_key(event.order_id, what) for what in ("spend", "points", "refunded", "quarter")}
            if event.type == "refund" and event.order_id:
                refunds.setdefault(event.member_id, set()).add(event.order_id)
            if (found := self.scope.in_force(at)) is not None:  # the caps' counters: a query each otherwise
                keys |= cap_counter_keys(found[1], event.type, event.order_id, at, zone)
        self.scope.preload(members, wants, held)
        self.scope.load_orders({e.order_id for e in events if e.order_id})  # the rules' `order.exists`
        present = [m for m in members if self.scope.members.get(m) is not None]
        rulesets = {found[0]: found[1] for at in sorted(set(times)) if (found := self.scope.in_force(at))}
        if self.ledger is not None:
            self.ledger.load(present, with_lots=set(refunds) & set(present), order_refs=refunds)
            self.ledger.reserve(TRANSACTIONS_PER_EVENT * len(events))
            budgets = {key for ruleset in rulesets.values() for key in _budget_keys(ruleset, None)}
            if any(e.type == "referral" for e in events):
                budgets.add(REFERRAL_LOCK)
            self._lock_counters(budgets)
        if times:
            self.hooks.preload(present, list(rulesets.values()), min(times), max(times))

    # ------------------------------------------------------------ one event

    def judge(self, event: EventInput, body: str, print_: str) -> dict[str, Any]:
        """The event's result. Written (with the event's row) at `flush`; its receipts'
        `log` items are filled in then."""
        self.changed = False
        result, increments = self._judge(event)
        self.scope.succeeded(increments)
        if self.write and event.type == "purchase" and event.order_id:
            self.scope.orders.add(event.order_id)  # exists for the batch's later events
        if self.write:
            self._rows.append((event, body, print_, result))
        return result

    def forget(self) -> None:
        """The event being judged failed before it changed anything."""
        self.scope.failed()

    def flush(self) -> None:
        """Writes everything the batch's events changed, in this transaction."""
        assert self.ledger is not None
        self.ledger.flush()
        self.hooks.flush()
        facts = FactsRepository(self.conn)
        mine, theirs = self.scope.take_increments()
        facts.add_member_counter_rows(mine)
        facts.add_program_counter_rows(theirs)
        now = self.clock.now()
        EventsRepository(self.conn).add_many([
            (self.program.id, event.event_id, event.type, result["member_id"], event.order_id,
             datetime.fromisoformat(result["occurred_at"]), now, print_, body, result["ruleset"], result)
            for event, body, print_, result in self._rows])
        self._rows = []
        # The hooks hold `self._earn`: a cycle through the whole batch's state, which only the
        # cyclic collector would free, at a cost of tens of milliseconds a batch. Broken here,
        # the state goes as soon as the batch does.
        self.hooks.close()

    # ------------------------------------------------------------ judging

    def _time(self, event: EventInput) -> datetime:
        return as_utc(event.occurred_at) if event.occurred_at else self.clock.now()

    def _judge(self, event: EventInput) -> tuple[dict[str, Any], list[tuple[str, dict[str, int]]]]:
        """The event's result, and the counter increments it made ((owner, {key: n}) pairs)."""
        program, program_id = self.program, self.program.id
        at = self._time(event)
        found = self.scope.in_force(at)
        if found is None:
            raise NoRulesInForce(f"program {program_id} has no ruleset in force at {receipts.iso(at)}")
        digest, ruleset = found
        if event.type not in BUILTIN_EVENT_TYPES and event.type not in ruleset.event_types:
            raise InvalidRequest(f"unknown event type {event.type!r}: neither built in nor declared by the "
                                 f"ruleset in force ({ruleset.version!r})")
        if event.amount is not None and event.amount.currency != program.currency:
            raise CurrencyMismatch(f"the event is in {event.amount.currency}; program {program_id} counts in "
                                   f"{program.currency}")
        judgement = _Judgement(program_id, event, at, digest, ruleset, event.member_id or "")
        self._held_until = None
        member = self._member(judgement)
        referrer = self.scope.referrer_of(member.id) if member.enrolled_at is not None else None
        locked = self._lock([member.id, *([referrer] if referrer else [])]) if self.write else {}
        if self.write:
            self._lock_counters(_budget_keys(ruleset, event.type))
        counters = _Counters(self.scope, member.id)
        if event.type == "referral":
            referrer, is_new = referrer_for(self.conn, program_id, member.id, event.referral_code,
                                            counters.get(mf.PURCHASES_TOTAL, 0))
            if self.write and is_new:
                locked |= self._lock([referrer])
                self.changed = True
                record_referral(self.conn, program_id, referrer, member.id, event.event_id, at)
                self.scope.referrers.pop(member.id, None)  # the new relation, read again when asked
        profile = self.scope.profile(member.id)
        time_zone = profile.time_zone or self.scope.policy.default_time_zone
        state = mf.member_state(member.id, member.enrolled_at or at, profile, time_zone,
                                self.hooks.member_tier(member.id, at, ruleset), counters, at,
                                event.type == "purchase")
        rule_event = Event(event.type, event.amount.amount if event.amount else 0,
                           event.amount.currency if event.amount else None, event.order_id,
                           tuple(sorted({i.category for i in event.items})), sum(i.quantity for i in event.items),
                           referrer, tuple(sorted(set(event.tags))), event.fields)
        if event.type == "signup" and counters.get(mf.SIGNUPS, 0):
            judgement.extra_withheld.append({"rule_id": None, "points": 0,
                                             "reason": "signup already recorded: the welcome bonus is once ever"})
        else:
            try:
                order = mf.order_facts(event.order_id, counters,
                                       event.order_id is not None and self.scope.order_exists(event.order_id))
                judgement.evaluation = evaluate(ruleset, rule_event, state, counters, at, order)
            except EvaluationError as error:
                raise InvalidRequest(str(error)) from None
        awards = self._payable(judgement, locked)
        operations = [Operation(command, at=at) for command in self._earns(judgement, awards)]
        reversal = self._refund(judgement, counters) if event.type == "refund" else None
        if reversal is not None and self.write:
            operations.append(Operation(reversal[0], at=at))
        # Fraud screening (service/fraud/screening.py): the operations unchanged, or the earns
        # held as pending for review; a refusal raises. It writes its signal and review here.
        screening = screen(self.conn, program_id, event, member.id, referrer, at, ruleset, operations, write=self.write)
        operations, judgement.fraud = screening.operations, screening.json()
        self._held_until = screening.held_until  # engagement's rewards of a held event are held too
        self.changed |= self.write and ruleset.fraud is not None
        increments: list[tuple[str, dict[str, int]]] = []
        if self.write:
            judgement.receipts = [dict(r) for r in self._apply(operations, at)]
            increments = _count(judgement, counters, awards, time_zone, reversal)
        if reversal is not None:
            receipt = judgement.receipts[-1] if self.write else self._preview_refund(reversal[0], at)
            judgement.reversal = {"order_id": event.order_id, "refund": reversal[1], "refund_receipt": receipt}
        return self._response(judgement, awards), increments

    def _apply(self, operations: list[Operation], at: datetime) -> list[Receipt]:
        """The operations in the ledger session; tiers are told of the activity they made."""
        if not operations:
            return []
        assert self.ledger is not None
        self.changed = True
        try:
            outcomes = self.ledger.apply(operations)
        except OperationFailed as failure:
            raise failure.error from None
        found: list[Receipt] = []
        for outcome in outcomes:
            assert isinstance(outcome, dict)
            txn = outcome.get("transaction")
            if txn and txn["kind"] in QUALIFYING:
                money = txn["money"]
                self.hooks.note_activity(txn["member_id"], activity_of(txn["kind"], at, txn["points"],
                                                                       money["amount"] if money else None))
            found.append(outcome)
        return found

    def _earn(self, operation: Operation) -> Receipt:
        """Engagement's rewards: earns of the same event, in the same ledger session."""
        return self._apply([held(operation, self._held_until)], as_utc(operation.at) if operation.at else self.clock.now())[0]

    def _enrol(self, enrol: cmd.Enroll, event: EventInput, at: datetime) -> Receipt:
        """A signup's new member. Refused as enrolled already, when this signup looked and found
        nobody, the customer was enrolled since by a concurrent request (PostgreSQL), perhaps
        this very event's original: the batch runs again and sees them, as if sent after it."""
        try:
            return self._apply([Operation(enrol, at=at)], at)[0]
        except Conflict as refused:
            if event.member_id is None or refused.context.get("member_id") == event.member_id:
                raise LostRace(f"{enrol.external_ref!r} was enrolled by a concurrent request") from refused
            raise

    def _lock(self, member_ids: list[str]) -> dict[str, LockedMember]:
        """The members, locked (PostgreSQL) unless the batch locked them up front."""
        scope = self.scope
        known = {i: m for i in member_ids if (m := scope.members.get(i)) is not None}
        rest = [i for i in member_ids if i not in known]
        return known | (FactsRepository(self.conn).lock_members(rest) if rest else {})

    def _lock_counters(self, keys: set[str]) -> None:
        """Program counters that budgets spend: made to exist and, on PostgreSQL, locked,
        once per transaction."""
        wanted = keys - self._locked
        if wanted:
            FactsRepository(self.conn).lock_program_counters(self.program.id, wanted)
            self._locked |= wanted

    def _member(self, judgement: _Judgement) -> LockedMember:
        event, scope = judgement.event, self.scope
        member_id = event.member_id
        if event.type == "signup":
            repo = LedgerRepository(self.conn)
            if member_id is None:  # enrolled earlier in this batch (not written yet), or before
                ref = event.external_ref or ""
                member_id = (self.ledger.enrolled.get(ref) if self.ledger is not None else None) or \
                    repo.member_ids_for_refs(judgement.program_id, [ref]).get(ref)
            if member_id is None or scope.member(member_id) is None:
                ref = event.external_ref or member_id or ""
                if not self.write:  # a quote for someone not enrolled yet: a member enrolled now
                    judgement.member_id = member_id or "(new member)"
                    return LockedMember(judgement.member_id, judgement.program_id, "active", None)
                receipt = self._enrol(cmd.Enroll(ref, member_id), event, judgement.at)
                judgement.enrolled = receipt["member"]
                member_id = judgement.enrolled["id"]
                scope.members[member_id] = LockedMember(member_id, judgement.program_id, "active", judgement.at)
        assert member_id is not None
        found = scope.member(member_id)  # locked below with the referrer, in id order
        if found is None:
            raise UnknownMember(f"no member {member_id!r} in program {judgement.program_id}")
        if found.program_id != judgement.program_id:
            raise ProgramMismatch(f"member {member_id} belongs to another program")
        judgement.member_id = member_id
        return found

    def _payable(self, judgement: _Judgement, locked: dict[str, LockedMember]) -> list[Any]:
        """The awards that can be paid: points for a referrer who is no longer active are
        withheld rather than failing the referee's purchase."""
        payable = []
        for award in judgement.evaluation.points:
            if award.to is Beneficiary.REFERRER:
                row = locked.get(award.member_id) or self.scope.member(award.member_id)
                if row is None or row.status != "active":
                    judgement.extra_withheld.append({"rule_id": award.rule_id, "points": award.points,
                                                     "reason": "the referrer is not an active member"})
                    continue
            payable.append(award)
        return payable

    @staticmethod
    def _earns(judgement: _Judgement, awards: list[Any]) -> list[cmd.Earn]:
        """One earn per member the awards pay, in the order they first appear: an event's
        effects for a member are one ledger transaction, with a pair of postings per rule
        that paid (each naming its rule) and one lot. The buyer's carries the order's money
        and reference; points a rule says a refund keeps (`refundable: false`) are an earn of
        their own without the reference, so the order's clawback never reaches them."""
        event = judgement.event
        paid: dict[tuple[str, bool], list[cmd.RulePoints]] = {}
        for award in awards:
            paid.setdefault(_earn_of(judgement, award), []).append(cmd.RulePoints(award.rule_id, award.points))
        # The purchase's money goes with the order's earn (the buyer's first, without one).
        buyer = (judgement.member_id, True) if (judgement.member_id, True) in paid else (judgement.member_id, False)
        earns = []
        for (member_id, for_order), parts in paid.items():
            money = event.amount if (member_id, for_order) == buyer and event.type == "purchase" else None
            earns.append(cmd.Earn(member_id, money=money, order_ref=event.order_id if for_order else None,
                                  ruleset_hash=judgement.ruleset_hash, by_rule=tuple(parts)))
        return earns

    @staticmethod
    def _refund(judgement: _Judgement, counters: Mapping[str, int]) -> tuple[cmd.Reverse, dict[str, Any]] | None:
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

    def _preview_refund(self, reverse: cmd.Reverse, at: datetime) -> dict[str, Any]:
        """What the refund would claw back: the member's ledger, loaded without locks, reversed
        in memory only (ids from a scratch source; nothing is saved)."""
        ledger = LedgerRepository(self.conn).load_ledgers(
            self.program, [reverse.member_id], with_lots={reverse.member_id},
            order_refs={reverse.member_id: {reverse.order_ref}}, lock=False)[reverse.member_id]
        refund = ledger.reverse(reverse, at, _Scratch())
        return {"refund": receipts.refund_json(refund), "transaction": None}

    # ------------------------------------------------------------ the answer

    def _response(self, judgement: _Judgement, awards: list[Any]) -> dict[str, Any]:
        # Receipts' `log` lists are the ledger session's own: filled in at its flush. A member's
        # awards share their earn's receipt (`_earns`: one per member and order reference, in order
        # of appearance).
        paid = list(dict.fromkeys(_earn_of(judgement, award) for award in awards))
        earn_receipts = dict(zip(paid, judgement.receipts)) if self.write else {}
        points = [{"rule_id": award.rule_id, "points": award.points, "member_id": award.member_id,
                   "to": award.to.value, "transaction": (receipt := earn_receipts.get(
                       _earn_of(judgement, award), {})).get("transaction"), "log": receipt.get("log", [])}
                  for award in awards]
        engagement = self.hooks.engagement_effects(judgement.member_id, judgement.event.occurrence(),
                                                   judgement.evaluation, judgement.at, judgement.ruleset)
        points += engagement.pop("points", [])  # challenge rewards: earns of the same event
        members = sorted({judgement.member_id, *(p["member_id"] for p in points)})
        tiers = self.hooks.tier_changes(members, judgement.at, judgement.ruleset,
                                        None if self.write else _quoted(judgement, points))
        withheld = [{"rule_id": w.rule_id, "reason": w.reason, "points": w.points}
                    for w in judgement.evaluation.withheld] + judgement.extra_withheld + engagement.pop("withheld", [])
        result: dict[str, Any] = {
            "event_id": judgement.event.event_id, "recorded": self.write, "ruleset": judgement.ruleset_hash,
            "type": judgement.event.type, "member_id": judgement.member_id, "occurred_at": receipts.iso(judgement.at),
            "effects": {"points": points, **engagement, "tier_changes": tiers},
            "total_points": sum(p["points"] for p in points if p["member_id"] == judgement.member_id),
            "withheld": withheld, "balance": self._balance(judgement.member_id),
        }
        if judgement.enrolled is not None:
            result["enrolled"] = judgement.enrolled
        if judgement.reversal is not None:
            result["reversal"] = judgement.reversal
        if judgement.fraud is not None:
            result["fraud"] = judgement.fraud
        return result

    def _balance(self, member_id: str) -> dict[str, int]:
        held = self.ledger.balances(member_id) if self.ledger is not None else None
        return held if held is not None else _stored_balance(self.conn, member_id)


def _earn_of(judgement: _Judgement, award: Any) -> tuple[str, bool]:
    """Which earn of the event pays the award: (member, whether it carries the order reference)."""
    return award.member_id, award.member_id == judgement.member_id and award.refundable and \
        judgement.event.order_id is not None


class _Counters(Mapping[str, int]):
    """The counters an evaluation reads, through the scope (which remembers them for the
    transaction); `program/…` keys are the program's, the others the member's."""

    def __init__(self, scope: EventScope, member_id: str) -> None:
        self.scope = scope
        self.member_id = member_id
        self._seen: dict[str, int] = {}

    def get(self, key: str, default: Any = 0) -> Any:
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


def _budget_keys(ruleset: Ruleset, event_type: str | None) -> set[str]:
    """The program counters of the budgets the rules for `event_type` (every type: None) spend."""
    phases = ruleset.phases(event_type) if event_type is not None else (ruleset.rules,)
    keys = {f"program/{rule.id}/budget/points" for phase in phases for rule in phase if rule.budget is not None}
    if event_type == "referral":
        keys.add(REFERRAL_LOCK)
    return keys


def _count(judgement: _Judgement, counters: Mapping[str, int], awards: list[Any], time_zone: str,
           reversal: tuple[cmd.Reverse, dict[str, Any]] | None) -> list[tuple[str, dict[str, int]]]:
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
    return [(judgement.member_id, mine), (judgement.program_id, theirs)]


def _quoted(judgement: _Judgement, points: list[dict[str, Any]]) -> dict[str, list[Activity]]:
    """What a quoted event would add to its members' tier activity (it is not in the ledger):
    each earn, the purchase's money on the member's first."""
    event = judgement.event
    quoted: dict[str, list[Activity]] = {}
    money_placed = event.type != "purchase" or event.amount is None
    for award in points:
        spend = 0
        if award["member_id"] == judgement.member_id and not money_placed:  # as `_earns` places it
            spend, money_placed = event.amount.amount if event.amount else 0, True
        quoted.setdefault(award["member_id"], []).append(
            Activity(judgement.at, spend=spend, points=award["points"], purchases=1 if spend else 0))
    return quoted


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    merged = dict(a)
    for key, value in b.items():
        merged[key] = merged.get(key, 0) + value
    return merged


def _stored_balance(conn: Connection, member_id: str) -> dict[str, int]:
    # Driver-level: a quote's, once per event.
    m = mark(conn)
    row = conn.exec_driver_sql(f"SELECT available, pending, held, debt FROM members WHERE id = {m}",
                               (member_id,)).first()
    if row is None:
        return {"available": 0, "pending": 0, "held": 0, "debt": 0}
    return {"available": row[0], "pending": row[1], "held": row[2], "debt": row[3]}
