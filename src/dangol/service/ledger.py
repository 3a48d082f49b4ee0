"""Ledger use cases. Every write goes through `execute`, a batch of one or many
operations applied in memory to locked member ledgers and written in one transaction:
the HTTP API sends batches of one, imports and benchmarks send thousands.

Idempotency lives here, in the same transaction as the write it protects: a key is
stored with the request's fingerprint and the receipt, so a retry gets the same receipt
and a different request under the same key is refused. Keys are looked up only once the
members they concern are locked: a retry sent while its original is still in flight waits
for it there and then finds its receipt."""

from __future__ import annotations

import gc
import re
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ..domain import Member, MemberLedger, MemberStatus, Program, Transaction
from ..domain import commands as cmd
from ..domain.clock import Clock, SystemClock, as_utc
from ..domain.errors import (
    Conflict, DomainError, IdempotencyConflict, InvalidRequest, ProgramMismatch, UnknownHold, UnknownMember,
)
from ..domain.member_ledger import Balances, Recorded
from ..storage.database import Database
from ..storage.ids import BlockIdAllocator
from ..storage.ledger_repository import LedgerRepository
from . import receipts
from .fingerprint import fingerprint
from .log_writer import LogWriter, TransactionTracker, add_log_receipts
from .notifications import outbox

Command = cmd.LedgerCommand | cmd.Enroll | cmd.SetMemberStatus
Receipt = dict[str, Any]
Outcome = Receipt | DomainError
# Asked before a live transfer, in the write transaction with both ledgers locked: raises
# the DomainError that refuses it (the container wires tiers' gifting, service/gifting.py).
TransferCheck = Callable[[Connection, str, str, datetime], None]  # (conn, program, sender, at)
# (conn, program, a redemption or transfer command, at, the member's unwritten (kind, time, points)):
# fraud detection's velocity rules for spends; raises to refuse.
SpendCheck = Callable[[Connection, str, object, datetime, Sequence[tuple[str, datetime, int]]], None]
# `execute`'s hooks: the operations failed so far -> more to leave out; the caller's writes
# (given the outcomes and which of them are new: an idempotent replay's receipt is not).
Screen = Callable[[Mapping[int, DomainError]], Mapping[int, DomainError]]
Also = Callable[[Connection, list[Outcome], list[bool]], None]

# A client clock a little ahead of ours is not an error; an event from next week is.
CLOCK_SKEW = timedelta(minutes=5)
MAX_KEY_LENGTH = 255
LARGE_BATCH = 256
MEMBER_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass(frozen=True, slots=True)
class Operation:
    command: Command
    idempotency_key: str | None = None
    at: datetime | None = None  # when it happened, for imports of history; now when None


@contextmanager
def collector_paused(pause: bool) -> Iterator[None]:
    """A large batch allocates hundreds of thousands of short-lived, acyclic objects;
    the cyclic garbage collector would scan them over and over (a third of the time of
    a batch, measured). Reference counting frees them all the same."""
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class OperationFailed(Exception):
    """Operation `index` of a batch was refused with `error`."""

    def __init__(self, index: int, error: DomainError) -> None:
        super().__init__(error.detail)
        self.index = index
        self.error = error


def new_member_id() -> str:
    return "m_" + secrets.token_hex(10)


class LedgerService:
    def __init__(self, db: Database, clock: Clock | None = None,
                 member_ids: Callable[[], str] = new_member_id, transfer_check: TransferCheck | None = None,
                 notify: bool = True, spend_check: SpendCheck | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.member_ids = member_ids
        self.transfer_check = transfer_check
        self.spend_check = spend_check
        self._programs: dict[str, Program] = {}  # see LedgerRepository: read once per process
        self.log = LogWriter()
        self.notify = notify  # outbox rows with every write (off only to measure what they cost)

    # ------------------------------------------------------------ one at a time

    def run(self, program_id: str, command: Command, idempotency_key: str | None = None,
            at: datetime | None = None) -> Receipt:
        """One operation; its error, if any, is raised and nothing is written."""
        outcome = self.execute(program_id, [Operation(command, idempotency_key, at)], stop_on_error=True)[0]
        assert not isinstance(outcome, DomainError)
        return outcome

    # ------------------------------------------------------------ batches

    def execute(self, program_id: str, operations: Sequence[Operation], *,
                stop_on_error: bool = False, history: bool = False, screen: Screen | None = None,
                also: Also | None = None) -> list[Outcome]:
        """Applies the operations in order, all in one transaction. An operation that
        fails is reported in its place and the others are applied as if it had never
        been sent: the batch is re-run without it, in the same transaction, so no partial
        effect survives and the refusal was judged against what the others answer from.
        `history`: the operations record what already happened elsewhere (an import), so
        `transfer_check` (tiers' gifting) is not asked; the ledger's own rules still apply.
        `screen`, asked before every run with the operations failed so far, names more to
        leave out (an import's ordering: whether an event is in order depends on which
        events before it were applied). `also` writes the caller's own rows in the same
        transaction, after the batch, from its outcomes."""
        invalid: dict[int, DomainError] = {}
        for index, op in enumerate(operations):
            try:
                self._validate(op)
            except DomainError as error:
                if stop_on_error:
                    raise
                invalid[index] = error
        with collector_paused(len(operations) >= LARGE_BATCH):
            try:
                # Lost races (the same key stored, or the same customer enrolled, by a
                # concurrent batch after we looked) run again, to answer from its rows.
                return self.db.retrying_races(
                    lambda: self._write(program_id, operations, invalid, stop_on_error, history, screen, also))
            except OperationFailed as failure:  # only with stop_on_error: nothing was written
                raise failure.error from None

    def _validate(self, op: Operation) -> None:
        key = op.idempotency_key
        if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()):
            raise InvalidRequest(f"an idempotency key is 1 to {MAX_KEY_LENGTH} printable characters")
        if op.at is not None:
            at = as_utc(op.at)
            if at > self.clock.now() + CLOCK_SKEW:
                raise InvalidRequest("an operation cannot happen in the future")

    def _write(self, program_id: str, operations: Sequence[Operation], invalid: Mapping[int, DomainError],
               stop_on_error: bool, history: bool, screen: Screen | None, also: Also | None) -> list[Outcome]:
        """One transaction. A run that refuses an operation is thrown away (it wrote nothing:
        operations are applied in memory and written at `flush`) and the batch runs again
        without it, in this same transaction, its members still locked: so a refusal is
        judged against the very state the other operations' answers are given against. Run
        again in a new transaction, after a write of another process to the same members,
        the operations before it would answer from balances the refusal never saw, and the
        refusal quote one that the member never had ("1,000 requested, 9,925 available")."""
        failed = dict(invalid)  # refusals of a transaction rolled back (a lost race) are judged again
        with self.db.write() as conn:
            while True:
                rejected = {**failed, **screen(failed)} if screen else dict(failed)
                try:
                    outcomes, new = self._apply(conn, program_id, operations, rejected, history)
                except OperationFailed as failure:
                    if stop_on_error:
                        raise
                    failed[failure.index] = failure.error
                    continue
                if also:
                    also(conn, outcomes, new)
                return outcomes

    def _apply(self, conn: Connection, program_id: str, operations: Sequence[Operation],
               rejected: dict[int, DomainError], history: bool = False) -> tuple[list[Outcome], list[bool]]:
        """The outcomes, and for each whether it was applied now (not replayed by its key)."""
        session = self.session(conn, program_id, history=history)
        outcomes = session.apply(operations, rejected)
        session.flush()
        return outcomes, [index in session.new_outcomes for index in range(len(outcomes))]

    # ------------------------------------------------------------ inside another transaction

    def apply_in(self, conn: Connection, program_id: str, operations: Sequence[Operation]) -> list[Outcome]:
        """Applies the operations inside the caller's transaction (the events service writes
        its event row and counters in the same one). The first operation that fails raises
        its DomainError; the caller's transaction then rolls back, leaving nothing behind."""
        try:
            return self._apply(conn, program_id, operations, {})[0]
        except OperationFailed as failure:
            raise failure.error from None

    def session(self, conn: Connection, program_id: str, *, history: bool = False) -> LedgerSession:
        """Operations applied in memory across many calls and written once, at `flush`
        (the events service's batches: a thousand events, one ledger write). `history`
        as in `execute`."""
        return LedgerSession(self, conn, program_id, None if history else self.transfer_check,
                             None if history else self.spend_check)


class LedgerSession:
    """Member ledgers loaded (and locked) once in a write transaction, the operations of
    one or many `apply` calls applied to them in memory, and everything written at
    `flush`: transactions, lots, balances, log entries and idempotency keys, each table in
    one multi-row statement. Receipts get their `log` items at `flush`.

    An `OperationFailed` from `apply` leaves the session's ledgers partly changed: the
    caller must drop the session, and roll the transaction back if it flushed before (a
    fresh session writes nothing until `flush`: `execute` runs the batch again without the
    failed operation in a new session, in the same transaction)."""

    def __init__(self, service: LedgerService, conn: Connection, program_id: str,
                 transfer_check: TransferCheck | None = None, spend_check: SpendCheck | None = None) -> None:
        self.service = service
        self.transfer_check = transfer_check
        self.spend_check = spend_check
        self.conn = conn
        self.repo = LedgerRepository(conn, service._programs)
        self.program = self.repo.get_program(program_id)
        self.now = service.clock.now()
        self.ids = TransactionTracker(BlockIdAllocator(conn))  # notes each operation's transactions, for the log
        self.ledgers: dict[str, MemberLedger] = {}
        self.new_members: list[Member] = []
        self.enrolled: dict[str, str] = {}  # external ref -> member id, of the refs looked up
        self.taken_member_ids: set[str] = set()
        self.hold_owners: dict[int, tuple[str, str]] = {}
        self.remembered: dict[str, tuple[str, Any]] = {}
        # Every fresh receipt and the transaction ids its operation took: `flush` adds their log items.
        self._fresh: list[tuple[Receipt, list[int]]] = []
        self._txn_keys: dict[int, str] = {}
        self._to_remember: list[tuple[str, str, Any]] = []
        self.new_outcomes: set[int] = set()  # of the last `apply`: indices applied now, not replayed

    def apply(self, operations: Sequence[Operation], rejected: dict[int, DomainError] | None = None,
              ) -> list[Outcome]:
        """Each operation's receipt, or its error from `rejected`, in order. The first
        other failure raises `OperationFailed(index, error)`."""
        rejected = rejected or {}
        prints = [fingerprint(op.command) if op.idempotency_key else "" for op in operations]
        self._load([op.command for i, op in enumerate(operations) if i not in rejected])
        # The operations happen once their members are held, not when the session began: one
        # that waited for another write's locks (PostgreSQL) would else come before it in time,
        # and find the points that write earned not earned yet ("1,000 requested, 0 available").
        self.now = self.service.clock.now()
        # Only now, the members locked: a duplicate that arrived while its original was in
        # flight has waited for it on those locks and finds its receipt, rather than running
        # again against the balance it left (PostgreSQL; on SQLite nothing has run since BEGIN).
        keys = {k for op in operations if (k := op.idempotency_key) and k not in self.remembered}
        if keys:
            self.remembered.update(self.repo.idempotent_responses(self.program.id, sorted(keys)))
        self.ids.reserve("transaction", len(operations))
        self.ids.reserve("lot", len(operations))
        outcomes: list[Outcome] = []
        self.new_outcomes = set()
        for index, op in enumerate(operations):
            if index in rejected:
                outcomes.append(rejected[index])
                continue
            key = op.idempotency_key
            if key and key in self.remembered:
                stored_print, receipt = self.remembered[key]
                if stored_print != prints[index]:
                    raise OperationFailed(index, IdempotencyConflict(
                        f"idempotency key {key!r} was used for a different request"))
                outcomes.append(receipt)
                continue
            taken = self.ids.start()
            try:
                receipt = self._apply_one(op.command, as_utc(op.at) if op.at else self.now)
            except DomainError as error:
                raise OperationFailed(index, error) from None
            # Its log items arrive at `flush`, into this very list: whoever kept the receipt sees them.
            receipt["log"] = []
            outcomes.append(receipt)
            self.new_outcomes.add(index)
            self._fresh.append((receipt, taken))
            if key:
                self._txn_keys.update(dict.fromkeys(taken, key))
                self.remembered[key] = (prints[index], receipt)
                self._to_remember.append((key, prints[index], receipt))
        return outcomes

    def reserve(self, transactions: int) -> None:
        """Ids for about this many transactions (and lots) ahead: on PostgreSQL, one
        sequence query for them instead of one per `apply` (unused ids are gaps)."""
        self.ids.reserve("transaction", transactions)
        self.ids.reserve("lot", transactions)

    def balances(self, member_id: str) -> dict[str, int] | None:
        """The member's balances as this session leaves them, if it holds their ledger."""
        ledger = self.ledgers.get(member_id)
        return None if ledger is None else receipts.balances_json(ledger.balances)

    def flush(self) -> None:
        """Writes what the applied operations recorded; the session can go on after it."""
        repo, conn, log = self.repo, self.conn, self.service.log
        repo.add_members(self.new_members)
        log.enrol(conn, self.new_members)
        repo.save(self.ledgers.values(), self.now)
        # Stamped now, after the members' locks (the session's `now` is from before them): a
        # status change then comes, in time, after or before the events judged against it
        # as it did in fact (the order replay judges them in).
        repo.save_status_changes(self.ledgers.values(), self.service.clock.now())
        # The log entries, in this same transaction; receipts get theirs before they are remembered.
        written = log.append(conn, self.ledgers.values(), self._txn_keys)
        add_log_receipts([r for r, _ in self._fresh], [taken for _, taken in self._fresh], written)
        repo.remember_responses(self.program.id, self._to_remember, self.now)
        if self.service.notify:  # what the transactions tell, in this same transaction
            outbox.write(conn, outbox.ledger_notices(self.ledgers.values()))
        for ledger in self.ledgers.values():
            ledger.recorded = Recorded()  # written: the ledger is now what the database holds
        self.new_members, self._fresh, self._txn_keys, self._to_remember = [], [], {}, []

    # ------------------------------------------------------------ loading

    def _load(self, commands: Sequence[Command]) -> None:
        """Loads the ledgers the commands need that the session does not hold yet. A held
        ledger loaded without the lots (or the order) a command needs is written out
        and loaded again, whole."""
        repo = self.repo
        hold_ids = [c.hold_id for c in commands if isinstance(c, (cmd.CaptureHold, cmd.VoidHold))
                    and c.hold_id not in self.hold_owners]
        if hold_ids:
            self.hold_owners.update(repo.hold_members(hold_ids))
        member_ids: set[str] = set()
        with_lots: set[str] = set()
        order_refs: dict[str, set[str]] = {}
        for command in commands:
            member_id = self._member_of(command)
            if member_id is None:
                continue
            member_ids.add(member_id)
            if isinstance(command, cmd.Transfer):
                member_ids.add(command.to_member_id)
            if _needs_lots(command):
                with_lots.add(member_id)
            if isinstance(command, cmd.Reverse):
                order_refs.setdefault(member_id, set()).add(command.order_ref)
        refs = [c.external_ref for c in commands if isinstance(c, cmd.Enroll) and c.external_ref not in self.enrolled]
        if refs:
            self.enrolled.update(repo.member_ids_for_refs(self.program.id, refs))
        # Ids that enrolments bring along, looked up at once: one query per enrolment was
        # a round trip each on PostgreSQL (an import of a brand's customers is all enrolments).
        wanted = [c.member_id for c in commands if isinstance(c, cmd.Enroll) and c.member_id]
        if wanted:
            self.taken_member_ids |= repo.existing_member_ids(wanted)
        self.load(member_ids, with_lots=with_lots, order_refs=order_refs)

    def load(self, member_ids: Collection[str], *, with_lots: set[str] | None = None,
             order_refs: dict[str, set[str]] | None = None) -> None:
        """Loads (and locks) the members' ledgers the session does not hold yet; `with_lots`
        also need their lots, and `order_refs` the histories of those orders. A held ledger
        loaded without the lots (or an order) now needed is written out and loaded again."""
        with_lots, order_refs = with_lots or set(), order_refs or {}
        stale = {m for m in with_lots if m in self.ledgers and not self._complete(self.ledgers[m], order_refs.get(m))}
        if stale:
            self.flush()
            for member_id in stale:
                del self.ledgers[member_id]
        missing = {m for m in member_ids if m not in self.ledgers}  # not a set difference: that copies the keys
        if missing:
            self.ledgers.update(self.repo.load_ledgers(
                self.program, missing, with_lots=with_lots & missing,
                order_refs={m: r for m, r in order_refs.items() if m in missing}))

    @staticmethod
    def _complete(ledger: MemberLedger, order_refs: set[str] | None) -> bool:
        """Whether the ledger has its lots and the orders a refund needs."""
        return ledger.lots_loaded and (ledger.orders_complete or all(r in ledger.orders for r in order_refs or ()))

    def _member_of(self, command: Command) -> str | None:
        if isinstance(command, (cmd.CaptureHold, cmd.VoidHold)):
            owner = self.hold_owners.get(command.hold_id)
            return owner[1] if owner and owner[0] == self.program.id else None
        return getattr(command, "member_id", None)

    def ledger(self, member_id: str) -> MemberLedger:
        ledger = self.ledgers.get(member_id)
        if ledger is None:
            member = self.repo.find_member(member_id)
            if member is not None and member.program_id != self.program.id:
                raise ProgramMismatch(f"member {member_id} belongs to another program")
            raise UnknownMember(f"no member {member_id!r} in program {self.program.id}")
        return ledger

    def hold_ledger(self, hold_id: int) -> MemberLedger:
        owner = self.hold_owners.get(hold_id)
        if owner is None:
            raise UnknownHold(f"no hold {hold_id}")
        if owner[0] != self.program.id:
            raise ProgramMismatch(f"hold {hold_id} belongs to another program")
        ledger = self.ledger(owner[1])
        if hold_id not in ledger.holds:
            # Only active holds are loaded; one closed earlier must be refused as such
            # (hold-not-active), not as unknown: the domain decides with the hold in hand.
            closed = self.repo.hold(hold_id)
            if closed is not None:
                ledger.holds[hold_id] = closed
        return ledger

    def _apply_one(self, command: Command, at: datetime) -> Receipt:
        ids = self.ids
        if isinstance(command, cmd.Enroll):
            return self._enroll(command, at)
        if isinstance(command, (cmd.CaptureHold, cmd.VoidHold)):
            ledger = self.hold_ledger(command.hold_id)
            if isinstance(command, cmd.CaptureHold):
                hold, txn = ledger.capture_hold(command, at, ids)
            else:
                hold, txn = ledger.void_hold(command, at, ids)
            return {"hold": receipts.hold_json(hold), "transaction": receipts.transaction_json(txn),
                    "balance": receipts.balances_json(ledger.balances)}
        ledger = self.ledger(command.member_id)
        if isinstance(command, cmd.Earn):
            earned = ledger.earn(command, at, ids)  # None: the command earned nothing
            lot = next(iter(ledger.lots_created_by(earned)), None)
            return {"points": earned.points if earned else 0, "transaction": receipts.transaction_json(earned),
                    "lot": receipts.lot_json(lot), "balance": receipts.balances_json(ledger.balances)}
        if self.spend_check is not None and isinstance(command, (cmd.Redeem, cmd.Transfer)):
            self.spend_check(self.conn, self.program.id, command, at,
                             [(t.kind.value, t.occurred_at, t.points) for t in ledger.recorded.transactions])
        if isinstance(command, cmd.Redeem):
            txn = ledger.redeem(command, at, ids)
            return self._txn_receipt(ledger, txn)
        if isinstance(command, cmd.Adjust):
            txn = ledger.adjust(command, at, ids)
            return self._txn_receipt(ledger, txn)
        if isinstance(command, cmd.Reverse):
            refund = ledger.reverse(command, at, ids)
            reversal = next((t for t in reversed(ledger.recorded.transactions) if t.id == refund.transaction_id), None)
            return {"refund": receipts.refund_json(refund), "transaction": receipts.transaction_json(reversal),
                    "balance": receipts.balances_json(ledger.balances)}
        if isinstance(command, cmd.PlaceHold):
            hold = ledger.place_hold(command, at, ids)
            return {"hold": receipts.hold_json(hold), "balance": receipts.balances_json(ledger.balances)}
        if isinstance(command, cmd.Transfer):
            recipient = self.ledger(command.to_member_id)
            if self.transfer_check and self.program.policy.allow_transfers:  # else the policy's refusal
                self.transfer_check(self.conn, self.program.id, command.member_id, at)
            txn = ledger.transfer(recipient, command, at, ids)
            return self._txn_receipt(ledger, txn)
        if isinstance(command, cmd.SettleReview):
            settled = ledger.settle_review(command, at, ids)  # None: nothing was left to move
            return {"transaction": receipts.transaction_json(settled), "balance": receipts.balances_json(ledger.balances)}
        if isinstance(command, cmd.SetMemberStatus):
            forfeited = ledger.set_status(command, at, ids)
            return {"member": receipts.member_json(ledger.member),
                    "transactions": [receipts.transaction_json(t) for t in forfeited],
                    "balance": receipts.balances_json(ledger.balances)}
        raise InvalidRequest(f"unsupported command {type(command).__name__}")

    def _enroll(self, command: cmd.Enroll, at: datetime) -> Receipt:
        ref = command.external_ref
        if not isinstance(ref, str) or not 0 < len(ref) <= 200 or not ref.isprintable():
            raise InvalidRequest("external_ref is 1 to 200 printable characters")
        existing = self.enrolled.get(ref)
        if existing is not None:
            raise Conflict(f"{ref!r} is already enrolled as member {existing}", member_id=existing)
        member_id = command.member_id or self.service.member_ids()
        if not MEMBER_ID.match(member_id):
            raise InvalidRequest("a member id is 1 to 40 letters, digits, '_' or '-'")
        if member_id in self.ledgers or member_id in self.taken_member_ids:
            raise Conflict(f"member id {member_id} is taken", member_id=member_id)
        member = Member(member_id, self.program.id, ref, MemberStatus.ACTIVE, at)
        self.enrolled[ref] = member.id
        self.new_members.append(member)
        self.ledgers[member.id] = MemberLedger(self.program, member, Balances(), lots=[], holds=[],
                                               orders_complete=True)
        return {"member": receipts.member_json(member)}

    @staticmethod
    def _txn_receipt(ledger: MemberLedger, txn: Transaction) -> Receipt:
        return {"transaction": receipts.transaction_json(txn), "balance": receipts.balances_json(ledger.balances)}


def _needs_lots(command: Command) -> bool:
    """Earning only adds a lot; everything else may spend, release or inspect lots."""
    if isinstance(command, cmd.Earn):
        return False
    if isinstance(command, cmd.Adjust):
        return command.points < 0
    return not isinstance(command, cmd.Enroll)

