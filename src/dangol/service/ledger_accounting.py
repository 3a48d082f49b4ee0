"""What made each transaction of a program's ledger, for replay, and how to make it again.

Every transaction has one of six causes:

- a recorded **event**: its answer names the transaction (the rules' earns, tier bonuses and
  challenge rewards, a refund's clawback); replay judges the event again;
- a **request**: an API call or an imported operation, i.e. an earn that no rule made, a
  redemption, a hold, its capture or void, an adjustment, a transfer, a reversal. What it
  asked (the member, the points, the reason, the expiry, the order) is taken as recorded;
  replay makes the request again on its scratch ledger, which decides again everything that
  follows from it: whether it is allowed (the balance, the minimum, a suspended member,
  gifting by tier), which lots it takes, what a reversal claws back;
- a **coupon redemption**: the earn of a `points` coupon, which the coupon's own record
  names; replay redeems the coupon that the event judged again issued, so its points come
  from the published template, and redeems `discount` and `percent` coupons too (they move
  no points);
- a member's **closure**: the holds it voided and the points it forfeited, made again by
  replaying the status change;
- a **fraud review**'s release or reversal of an event's held points: the review names
  its transactions; replay settles the same review (the scratch's, of the same event,
  which judging the event again opened) the same way, where it was recorded;
- a **settlement** (released pending points, timed-out holds, expired points): part of the
  operation right after it when that operation settles the member first (a redemption,
  a refund, ...); otherwise an expiry run's, which replay runs again for that member, as of
  the latest moment the run settled.

Requests, redemptions and expiry runs become `LedgerStep`s, each placed where it was
recorded among the events: by the time its transactions were recorded and, within one
instant, by their ids (an event's place is its first transaction's)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from ..domain import FixedClock, MemberStatus, Money
from ..domain import commands as cmd
from ..domain.errors import DomainError
from ..domain.holds import HoldStatus
from ..importer.events import KEY_PREFIX as IMPORTED
from ..storage.ledger_history import LedgerHistory, RefundRow, TransactionRow, remembered_receipts
from ..storage.events_repository import RecordedEvent
from ..storage.ledger_repository import StatusChange
from .container import Services
from .ledger import Operation
from .ledger_comparison import describe
from .receipts import iso
from .staff.audit import Actor

FIRST, LAST = -math.inf, math.inf  # places within an instant: before, or after, everything recorded then
Replay = Callable[[Services, str], str | None]  # makes a step again on the scratch; what refused it, if anything


class Cause(StrEnum):
    EVENT = "events"
    REQUEST = "requests"
    COUPON = "coupon redemptions"
    CLOSURE = "closures"
    REVIEW = "fraud reviews"
    SETTLEMENT = "expiry runs"


@dataclass(frozen=True, slots=True)
class ReviewSettlement:
    """A settled fraud review: the event it was opened for, how it was settled and the
    transactions that wrote."""

    event_id: str
    status: str  # released | reversed
    transactions: tuple[int, ...]


# Operations that settle the member (release, time out, expire) before they act: the
# settlements recorded just before one of them, in the same write, are that operation's.
_SETTLING = {"redeem", "hold", "capture", "void", "transfer", "reverse"}


@dataclass(frozen=True, slots=True)
class LedgerStep:
    """A request, a coupon redemption or an expiry run, to be made again on the scratch
    ledger before the first event recorded after it (`recorded_at`, then `position`)."""

    recorded_at: datetime
    position: float
    replay: Replay
    transaction: int | None = None  # the recorded transaction it makes, if it makes one


@dataclass(frozen=True, slots=True)
class StatusPlace:
    """Where a change of a member's status is made again (`recorded_at`, then `position`, as
    a step), and the reason it carries (the status history keeps none; a closure's forfeit does)."""

    recorded_at: datetime
    position: float
    reason: str | None = None


@dataclass
class LedgerAccounting:
    """The recorded ledger accounted for: each transaction's cause, the steps that make
    the requests, redemptions and expiry runs again, where each event comes among them,
    and what cannot be accounted for (a transaction that names a coupon no one redeemed,
    a reversal without its refund)."""

    causes: dict[int, Cause] = field(default_factory=dict)
    steps: list[LedgerStep] = field(default_factory=list)
    event_positions: list[float] = field(default_factory=list)  # one per event, in order
    statuses: dict[StatusChange, StatusPlace] = field(default_factory=dict)
    unaccounted: list[tuple[int, str]] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # the coupons' codes, in the order events issued them
    # Recorded hold id -> the id of the same hold on the scratch ledger, as the steps place them.
    holds: dict[int, int] = field(default_factory=dict)
    events_of: dict[int, int] = field(default_factory=dict)  # transaction id -> the event naming it

    def by_cause(self) -> Counter[str]:
        """How many transactions each cause made, in the causes' order."""
        counts = Counter(self.causes.values())
        return Counter({cause.value: counts[cause] for cause in Cause if counts[cause]})


def account(history: LedgerHistory, events: Sequence[RecordedEvent], statuses: Sequence[StatusChange],
            imported: set[int], request_times: dict[tuple[str, str, int, int], datetime],
            reviews: Sequence[ReviewSettlement] = ()) -> LedgerAccounting:
    """`statuses`: the members' status changes, in recorded order; `imported`: the
    transactions of imported operations (history: a transfer among them was not asked about
    gifting); `request_times`: when the requests that wrote a refund but no transaction were
    written, by (order, time, clawed back, uncollected)."""
    return _Accounting(history, events, statuses, imported, request_times, reviews).run()


class _Accounting:
    def __init__(self, history: LedgerHistory, events: Sequence[RecordedEvent], statuses: Sequence[StatusChange],
                 imported: set[int], request_times: dict[tuple[str, str, int, int], datetime],
                 reviews: Sequence[ReviewSettlement] = ()) -> None:
        self.history, self.events, self.imported, self.request_times = history, events, imported, request_times
        self.reviewed = {txn: review for review in reviews for txn in review.transactions}
        self.status_changes = statuses
        self.closures: dict[tuple[str, datetime], StatusPlace] = {}  # by member and time
        self.result = LedgerAccounting()
        self.named = self.result.events_of  # transaction id -> the index of the event whose answer names it
        self.event_refunds: Counter[tuple[str, str, str | None, int | None]] = Counter()
        self.refunds = {r.transaction_id: r for r in history.refunds if r.transaction_id is not None}
        self.start: dict[int, int] = {}  # transaction id -> the id its operation's first transaction has
        self.owned: set[int] = set()  # settlements made by the operation after them

    def run(self) -> LedgerAccounting:
        self._read_answers()
        sequences: dict[str, list[TransactionRow]] = defaultdict(list)
        for txn in self.history.transactions:
            sequences[txn.member_id].append(txn)
        causes = self.result.causes
        for sequence in sequences.values():
            for txn in sequence:
                causes[txn.id] = self._cause(txn)
            self._closure_voids(sequence)
            self._operations(sequence)
        self._place_events()
        claimed = self._coupon_earns()
        for txn in self.history.transactions:
            if txn.id in self.owned:
                continue
            if causes[txn.id] is Cause.REQUEST:
                self._request(txn)
            elif causes[txn.id] is Cause.REVIEW:
                self._review(txn)
            elif causes[txn.id] is Cause.CLOSURE and txn.kind == "expire":
                self.closures[(txn.member_id, txn.occurred_at)] = StatusPlace(txn.recorded_at, self.start[txn.id],
                                                                              txn.reason)
        self._place_statuses()
        self._coupon_redemptions(claimed)
        self._refunds_without_transactions()
        self.result.steps.sort(key=lambda step: (step.recorded_at, step.position))
        return self.result

    # ------------------------------------------------------------ events

    def _read_answers(self) -> None:
        for index, event in enumerate(self.events):
            effects = event.result.get("effects") or {}
            for award in effects.get("points", ()):
                txn_id = (award.get("transaction") or {}).get("id")
                if txn_id is not None:
                    self.named[txn_id] = index
            receipt = (event.result.get("reversal") or {}).get("refund_receipt") or {}
            if (txn_id := (receipt.get("transaction") or {}).get("id")) is not None:
                self.named[txn_id] = index
            if (refund := receipt.get("refund")) is not None:
                self.event_refunds[(event.result["member_id"], refund["order_ref"], refund.get("recorded_at"),
                                    refund.get("transaction_id"))] += 1
            self.result.codes += [c["code"] for c in effects.get("coupons", ()) if c.get("code")]

    def _place_events(self) -> None:
        """An event's place among what was recorded at its instant is that of its first
        transaction; one that moved no points comes right after the event before it."""
        positions = self.result.event_positions
        firsts: dict[int, int] = {}
        for txn_id, index in self.named.items():
            start = self.start.get(txn_id, txn_id)
            firsts[index] = min(start, firsts.get(index, start))
        previous: tuple[datetime, float] | None = None
        for index, event in enumerate(self.events):
            if index in firsts:
                position: float = firsts[index]
            else:
                position = previous[1] if previous is not None and previous[0] == event.recorded_at else FIRST
            positions.append(position)
            previous = (event.recorded_at, position)

    # ------------------------------------------------------------ causes

    def _cause(self, txn: TransactionRow) -> Cause:
        if txn.id in self.named:
            return Cause.EVENT
        if txn.id in self.reviewed:
            return Cause.REVIEW
        if txn.kind == "earn" and (txn.rule_id or "").startswith("coupon:"):
            return Cause.COUPON
        if txn.kind == "release":
            return Cause.SETTLEMENT
        if txn.kind == "void":
            hold = self.history.holds.get(txn.hold_id) if txn.hold_id is not None else None
            return Cause.SETTLEMENT if hold is not None and hold.status == HoldStatus.EXPIRED else Cause.REQUEST
        if txn.kind == "expire":  # a closure's forfeit has a reason; an expiry, none
            return Cause.SETTLEMENT if txn.reason is None else Cause.CLOSURE
        return Cause.REQUEST

    def _operations(self, sequence: list[TransactionRow]) -> None:
        """Groups a member's transactions into the operations that wrote them: a closure's
        voids with its forfeit, and a run of settlements with the operation right after it
        when that operation settled the member first, in the same write (`start`: each
        transaction's operation's first). A run of settlements on its own is an expiry
        run's, made again as such, as of the latest moment it settled."""
        causes, index = self.result.causes, 0
        while index < len(sequence):
            first = sequence[index]
            end = self._run(sequence, index, Cause.SETTLEMENT)
            run, after = sequence[index:end], sequence[end] if end < len(sequence) else None
            if run and (after is None or after.recorded_at != first.recorded_at or not self._settles(after)):
                for settled in run:
                    self.start[settled.id] = first.id
                self.result.steps.append(LedgerStep(first.recorded_at, first.id, _expiry_run(
                    first.member_id, max(settled.occurred_at for settled in run), first.recorded_at)))
                index = end
                continue
            assert after is not None
            if causes[after.id] is Cause.CLOSURE:  # its voids, then its forfeit
                end = self._run(sequence, end, Cause.CLOSURE)
            else:
                end += 1
            for txn in sequence[index:end]:
                self.start[txn.id] = first.id
            for settled in run:
                self.owned.add(settled.id)
                causes[settled.id] = causes[after.id]
            index = end

    def _run(self, sequence: list[TransactionRow], start: int, cause: Cause) -> int:
        """Where the run of transactions of `cause` written together from `start` ends."""
        end = start
        while end < len(sequence) and self.result.causes[sequence[end].id] is cause \
                and sequence[end].recorded_at == sequence[start].recorded_at:
            end += 1
        return end

    def _closure_voids(self, sequence: list[TransactionRow]) -> None:
        """A closure voids the member's active holds just before it forfeits what is left."""
        causes = self.result.causes
        for index, txn in enumerate(sequence):
            if causes[txn.id] is not Cause.CLOSURE:
                continue
            before = index - 1
            while before >= 0 and sequence[before].kind == "void" and causes[sequence[before].id] is Cause.REQUEST \
                    and sequence[before].recorded_at == txn.recorded_at:
                causes[sequence[before].id] = Cause.CLOSURE
                before -= 1

    def _settles(self, txn: TransactionRow) -> bool:
        if txn.kind == "adjust":
            return txn.posted("adjusted") > 0  # taking points: a credit settles nothing
        cause = self.result.causes[txn.id]
        return txn.kind in _SETTLING and cause is not Cause.SETTLEMENT or cause is Cause.CLOSURE

    def _place_statuses(self) -> None:
        """A closure goes where the transactions it wrote are. Another change has none to
        place it: at the instant it was stamped it comes first, but a suspension (or a
        closure that forfeited nothing) after the member's own transactions stamped at that
        same instant (a clock that does not move, as in tests: a member's requests of that
        instant were allowed, so made while active). A member's changes keep their order."""
        last_of: dict[tuple[str, datetime], int] = {}  # (member, time) -> their last transaction then
        for txn in self.history.transactions:
            for member in {txn.member_id, *(m for _, m, _, _ in txn.postings if m is not None)}:
                last_of[(member, txn.recorded_at)] = txn.id
        placed: dict[str, tuple[datetime, float]] = {}
        for change in self.status_changes:
            found = self.closures.get((change.member_id, change.occurred_at)) \
                if change.status is MemberStatus.CLOSED else None
            if found is None:
                last = last_of.get((change.member_id, change.recorded_at))
                ending = change.status is not MemberStatus.ACTIVE and last is not None
                found = StatusPlace(change.recorded_at, last + 0.5 if ending and last is not None else FIRST)
            before = placed.get(change.member_id)
            if before is not None and (found.recorded_at, found.position) < before:
                found = StatusPlace(*before, found.reason)
            placed[change.member_id] = (found.recorded_at, found.position)
            self.result.statuses[change] = found

    # ------------------------------------------------------------ requests

    def _request(self, txn: TransactionRow) -> None:
        position = self.start.get(txn.id, txn.id)
        if txn.kind == "reverse":
            refund = self.refunds.get(txn.id)
            if refund is None:
                self.result.unaccounted.append((txn.id, f"transaction {txn.id} ({describe(txn)}) is a reversal, "
                                                        "but no refund is recorded for it"))
                return
            self._add(txn.recorded_at, position, _reversal(refund, txn.reason, f"transaction {txn.id} "
                                                                             f"({describe(txn)})"), txn.id)
            return
        self._add(txn.recorded_at, position, _request(txn, self.result.holds, txn.id in self.imported,
                                                      self.history), txn.id)

    def _review(self, txn: TransactionRow) -> None:
        """A review's settlement is made again once, where its first transaction was."""
        review = self.reviewed[txn.id]
        if txn.id == min(review.transactions):
            self._add(txn.recorded_at, self.start.get(txn.id, txn.id), _settlement(review, txn.recorded_at), txn.id)

    def _add(self, recorded_at: datetime, position: float, replay: Replay, transaction: int | None = None) -> None:
        self.result.steps.append(LedgerStep(recorded_at, position, replay, transaction))

    def _coupon_earns(self) -> set[str]:
        """Each coupon earn must be the redemption of a `points` coupon of its member, of
        the template it names; one that is not is made again as it is (for the rest of the
        ledger to compare), and named."""
        claimed: set[str] = set()
        for txn in self.history.transactions:
            if self.result.causes[txn.id] is not Cause.COUPON:
                continue
            code = (txn.reason or "").removeprefix("coupon ")
            coupon = self.history.coupons.get(code)
            if coupon is None or code in claimed or coupon.redeemed_at is None or coupon.benefit != "points" \
                    or coupon.member_id != txn.member_id or txn.rule_id != f"coupon:{coupon.template}":
                self.result.unaccounted.append((txn.id, f"transaction {txn.id} ({describe(txn)}) names "
                                                        f"{txn.rule_id}, but no points coupon {code!r} of that member "
                                                        "was redeemed for it"))
                self.result.causes[txn.id] = Cause.REQUEST
                continue
            claimed.add(code)
            self._add(txn.recorded_at, self.start.get(txn.id, txn.id),
                      _redemption(code, coupon.template, coupon.member_id, coupon.redeemed_at), txn.id)
        return claimed

    def _coupon_redemptions(self, claimed: set[str]) -> None:
        """The redeemed coupons that credit nothing (a discount, a percentage off), and a
        points coupon whose earn is missing: made again last among what was recorded at
        their instant."""
        for code, coupon in self.history.coupons.items():
            if coupon.redeemed_at is not None and code not in claimed:
                self._add(coupon.redeemed_at, LAST, _redemption(code, coupon.template, coupon.member_id,
                                                                coupon.redeemed_at))

    def _refunds_without_transactions(self) -> None:
        """A refund that clawed nothing back wrote no transaction, but later partial refunds of
        its order count it: one an event made is made again with it; another, requested, on
        its own, at the time its request was written (if it was remembered)."""
        events = self.event_refunds.copy()
        for refund in self.history.refunds:
            key = (refund.member_id, refund.order_ref, iso(refund.recorded_at), refund.transaction_id)
            if events[key] > 0:
                events[key] -= 1
                continue
            if refund.transaction_id is not None:
                continue  # its transaction is the request's, made again from it
            written = self.request_times.get((refund.order_ref, iso(refund.recorded_at) or "", refund.clawed_back,
                                              refund.uncollected), refund.recorded_at)
            self._add(written, LAST, _reversal(refund, None, f"the refund of order {refund.order_ref!r} of "
                                                           f"{refund.member_id} at {iso(refund.recorded_at)}"))


# ------------------------------------------------------------ steps


def _clock(scratch: Services) -> FixedClock:
    assert isinstance(scratch.clock, FixedClock)
    return scratch.clock


def _apply(scratch: Services, program_id: str, command: cmd.LedgerCommand, at: datetime, recorded_at: datetime,
           history: bool = False) -> dict[str, Any] | DomainError:
    _clock(scratch).set(recorded_at)
    try:
        outcome = scratch.ledger.execute(program_id, [Operation(command, None, at)], stop_on_error=True,
                                         history=history)[0]
    except DomainError as error:
        return error
    return outcome


def _request(txn: TransactionRow, holds: dict[int, int], imported: bool, history: LedgerHistory) -> Replay:
    """The request that made `txn`, as recorded, made again."""
    where = f"transaction {txn.id} ({describe(txn)})"
    lot = txn.lots[0] if txn.lots else None

    def command() -> cmd.LedgerCommand | str:
        member = txn.member_id
        if txn.kind == "earn":
            credited = txn.posted("available", member) + txn.posted("pending", member)
            return cmd.Earn(member, points=credited, money=Money(*txn.money) if txn.money else None,
                            order_ref=txn.order_ref, available_at=lot.available_at if lot else None,
                            expires_at=lot.expires_at if lot else None, reason=txn.reason, rule_id=txn.rule_id,
                            ruleset_hash=txn.ruleset_hash)
        if txn.kind == "redeem":
            return cmd.Redeem(member, txn.posted("redeemed"), order_ref=txn.order_ref, reason=txn.reason)
        if txn.kind == "adjust":
            points = -txn.posted("adjusted")
            return cmd.Adjust(member, points, txn.reason or "", expires_at=lot.expires_at if lot and points > 0
                              else None)
        if txn.kind == "transfer":
            return cmd.Transfer(member, txn.counterparty_id or "", txn.posted("available", txn.counterparty_id),
                                reason=txn.reason)
        hold = history.holds.get(txn.hold_id) if txn.hold_id is not None else None
        if hold is None:
            return f"{where}: its hold {txn.hold_id} is not recorded"
        if txn.kind == "hold":
            timeout = int((hold.expires_at - hold.created_at).total_seconds())
            return cmd.PlaceHold(member, txn.posted("held", member), timeout_seconds=timeout, order_ref=txn.order_ref)
        placed = holds.get(hold.id)
        if placed is None:
            return f"{where}: its hold {hold.id} was not placed again"
        if txn.kind == "capture":
            return cmd.CaptureHold(placed, txn.posted("redeemed"))
        return cmd.VoidHold(placed)

    def replay(scratch: Services, program_id: str) -> str | None:
        made = command()
        if isinstance(made, str):
            return made
        outcome = _apply(scratch, program_id, made, txn.occurred_at, txn.recorded_at, history=imported)
        if isinstance(outcome, DomainError):
            return f"{where}: replaying it is refused: {outcome.detail}"
        if txn.kind == "hold" and txn.hold_id is not None:
            holds[txn.hold_id] = int(outcome["hold"]["id"])
        return None
    return replay


def _reversal(refund: RefundRow, reason: str | None, where: str) -> Replay:
    command = cmd.Reverse(refund.member_id, refund.order_ref, refund=Money(*refund.money) if refund.money else None,
                          reason=reason)

    def replay(scratch: Services, program_id: str) -> str | None:
        outcome = _apply(scratch, program_id, command, refund.recorded_at, refund.recorded_at)
        return f"{where}: replaying it is refused: {outcome.detail}" if isinstance(outcome, DomainError) else None
    return replay


def _redemption(code: str, template: str, member_id: str, redeemed_at: datetime) -> Replay:
    def replay(scratch: Services, program_id: str) -> str | None:
        _clock(scratch).set(redeemed_at)
        try:
            scratch.engagement.redeem_coupon(program_id, code, f"replay:{code}")
        except DomainError as error:
            return (f"coupon {code} ({template} of {member_id}) redeemed at {iso(redeemed_at)}: replaying it is "
                    f"refused: {error.detail}")
        return None
    return replay


def _settlement(review: ReviewSettlement, recorded_at: datetime) -> Replay:
    def replay(scratch: Services, program_id: str) -> str | None:
        _clock(scratch).set(recorded_at)
        where = f"the fraud review of event {review.event_id!r}, {review.status} at {iso(recorded_at)}"
        found = scratch.fraud_reviews.of_event(program_id, review.event_id)
        if found is None:
            return f"{where}: judging the event again opened no review"
        settle = scratch.fraud_reviews.release if review.status == "released" else scratch.fraud_reviews.reverse
        try:
            settle(program_id, found, Actor("replay"))
        except DomainError as error:
            return f"{where}: replaying it is refused: {error.detail}"
        return None
    return replay


def _expiry_run(member_id: str, as_of: datetime, recorded_at: datetime) -> Replay:
    def replay(scratch: Services, program_id: str) -> str | None:
        _clock(scratch).set(recorded_at)
        try:
            scratch.expiry.settle(program_id, {member_id: as_of})
        except DomainError as error:
            return f"the expiry run of {iso(recorded_at)} for {member_id}: replaying it is refused: {error.detail}"
        return None
    return replay


def imported_transfers(conn: Connection, program_id: str) -> set[int]:
    """The transfers that imported operations made (history: no one asked about gifting
    then), from the receipts their idempotency keys keep."""
    found: set[int] = set()
    for _, _, receipt in remembered_receipts(conn, program_id, '"kind":"transfer"', key_prefix=IMPORTED):
        if (txn_id := (receipt.get("transaction") or {}).get("id")) is not None:
            found.add(int(txn_id))
    return found


def refund_request_times(conn: Connection, program_id: str) -> dict[tuple[str, str, int, int], datetime]:
    """When each remembered reversal request that wrote no transaction was written, by
    (order, the refund's time, clawed back, uncollected)."""
    found: dict[tuple[str, str, int, int], datetime] = {}
    for _, written, receipt in remembered_receipts(conn, program_id, '"refund":', '"transaction":null'):
        refund = receipt.get("refund")
        if isinstance(refund, dict) and refund.get("transaction_id") is None:
            found[(str(refund["order_ref"]), str(refund["recorded_at"]), int(refund["clawed_back"]),
                   int(refund["uncollected"]))] = written
    return found
