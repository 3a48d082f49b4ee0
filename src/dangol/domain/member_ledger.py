"""The member ledger: one member's lots, holds and balances, and every operation on them.

This is the aggregate of the domain: the service loads it, asks it to do something,
and persists what it records. It does no I/O. Ids come from an injected `IdSource`
so that a batch of operations can be applied in memory and written at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from . import commands as cmd
from .accounts import Account
from .errors import (
    BelowMinimumRedemption,
    HoldNotActive,
    InsufficientPoints,
    InvalidRequest,
    MemberNotActive,
    ProgramMismatch,
    RefundExceedsOrder,
    TransfersNotAllowed,
    UnknownHold,
    UnknownOrder,
)
from .holds import Hold, HoldStatus
from .lots import LotMovement, LotSource, MovementKind, PointLot, fefo_key, plan_consumption
from .member import Member, MemberStatus
from .money import Money, proportion
from .orders import OrderHistory
from .program import Program
from .transactions import Posting, Transaction, TransactionKind, transfer_postings

MAX_POINTS = 10**15  # far above any real balance, far below 2**63: sums never overflow BIGINT


class IdSource(Protocol):
    def next_id(self, kind: str) -> int: ...


@dataclass(slots=True)
class Balances:
    """Ledger balances of a member's accounts. `available` is lots' remainders minus `debt`:
    it goes below zero only when a clawback was allowed to overdraw the member."""

    available: int = 0
    pending: int = 0
    held: int = 0
    debt: int = 0


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund of an order, kept even when it claws nothing back, because later partial
    refunds are computed from the running total."""

    member_id: str
    order_ref: str
    money: Money | None
    clawed_back: int
    uncollected: int
    transaction_id: int | None
    recorded_at: datetime


@dataclass
class Recorded:
    """What the aggregate produced since it was loaded, for the repository to write."""

    transactions: list[Transaction] = field(default_factory=list)
    movements: list[LotMovement] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    new_lot_ids: dict[int, int] = field(default_factory=dict)  # new lot id -> transaction id
    lots_by_transaction: dict[int, list[int]] = field(default_factory=dict)  # the inverse, for receipts
    touched_lot_ids: set[int] = field(default_factory=set)
    new_hold_ids: set[int] = field(default_factory=set)
    touched_hold_ids: set[int] = field(default_factory=set)
    # Each new status and when it was set: the ledger keeps them (replay judges events
    # against a member's status as it was).
    status_changes: list[tuple[MemberStatus, datetime]] = field(default_factory=list)
    balances_changed: bool = False

    @property
    def member_changed(self) -> bool:
        return bool(self.status_changes)


def require_points(points: int, what: str = "points") -> None:
    if type(points) is not int or not 0 < points <= MAX_POINTS:
        raise InvalidRequest(f"{what} must be a whole number between 1 and {MAX_POINTS}")


def _rule_parts(command: cmd.Earn) -> tuple[cmd.RulePoints, ...]:
    """The earn's points by rule, when it gives them (`by_rule`), checked."""
    if command.by_rule:
        for part in command.by_rule:
            require_points(part.points, f"points of rule {part.rule_id}")
        total = sum(part.points for part in command.by_rule)
        if command.points is not None and command.points != total:
            raise InvalidRequest(f"an earn of {command.points} points cannot be split into {total} by rule")
        if total > MAX_POINTS:
            raise InvalidRequest("the event earns more points than a ledger can hold")
        return command.by_rule
    return ()


class MemberLedger:
    def __init__(
        self,
        program: Program,
        member: Member,
        balances: Balances,
        lots: list[PointLot] | None = None,
        holds: list[Hold] | None = None,
        orders: dict[str, OrderHistory] | None = None,
        *,
        orders_complete: bool = False,
    ) -> None:
        """`orders` holds the histories of the orders an operation will refund; with
        `orders_complete` (a member enrolled in this batch) every order is tracked."""
        if member.program_id != program.id:
            raise ProgramMismatch(f"member {member.id} is not in program {program.id}")
        self.program = program
        self.member = member
        self.balances = balances
        self.lots_loaded = lots is not None
        self.lots: dict[int, PointLot] = {lot.id: lot for lot in lots or ()}
        self.holds: dict[int, Hold] = {hold.id: hold for hold in holds or ()}
        self.orders: dict[str, OrderHistory] = dict(orders or {})
        self.orders_complete = orders_complete
        self.recorded = Recorded()

    # ---------------------------------------------------------------- reading

    def spendable_lots(self, at: datetime) -> list[PointLot]:
        self._require_lots()
        return sorted((lot for lot in self.lots.values() if lot.spendable(at)), key=fefo_key)

    def lots_created_by(self, transaction: Transaction | None) -> list[PointLot]:
        if transaction is None:
            return []
        return [self.lots[lot_id] for lot_id in self.recorded.lots_by_transaction.get(transaction.id, ())]

    def spendable(self, at: datetime) -> int:
        if self.balances.debt:
            return 0
        return sum(lot.remaining for lot in self.spendable_lots(at))

    # ---------------------------------------------------------------- operations

    def earn(self, command: cmd.Earn, at: datetime, ids: IdSource) -> Transaction | None:
        self.member.require_active()
        parts = _rule_parts(command)
        if parts and command.points is None:
            command = replace(command, points=sum(part.points for part in parts))
        if command.points is not None:
            require_points(command.points)
            points = command.points
            if command.money is not None:
                command.money.require_currency(self.program.currency)
        elif command.money is not None:
            points = self.program.points_for(command.money)
            if points > MAX_POINTS:
                raise InvalidRequest("the order earns more points than a ledger can hold")
        else:
            raise InvalidRequest("earn needs points or a money amount")
        if command.money is not None and command.money.amount < 0:
            raise InvalidRequest("an order amount cannot be negative")
        if points == 0:
            # Nothing is written for it, so the order is not known to a later refund either:
            # noting it here would make a refund in the same batch behave unlike one sent later.
            return None
        available_at = command.available_at or at
        expires_at = command.expires_at or self.program.policy.expiry_for(max(at, available_at))
        if expires_at <= available_at:
            raise InvalidRequest("points must expire after they become available")
        self._note_order_earn(command, points)
        return self._credit(
            TransactionKind.EARN, Account.ISSUED, points, at, ids, LotSource.EARN,
            expires_at=expires_at, available_at=available_at, order_ref=command.order_ref,
            money=command.money, reason=command.reason,
            rules=parts or ((cmd.RulePoints(command.rule_id, points),) if command.rule_id else ()),
            ruleset_hash=command.ruleset_hash,
        )

    def redeem(self, command: cmd.Redeem, at: datetime, ids: IdSource) -> Transaction:
        self.member.require_active()
        self._require_redeemable(command.points)
        self.settle(at, ids)
        txn_id = ids.next_id("transaction")
        movements = self._take(command.points, at, txn_id, MovementKind.REDEEMED)
        return self._record(Transaction(
            txn_id, self.program.id, self.member.id, TransactionKind.REDEEM,
            transfer_postings(self.member.id, Account.AVAILABLE, Account.REDEEMED, command.points),
            at, order_ref=command.order_ref, reason=command.reason,
        ), movements)

    def place_hold(self, command: cmd.PlaceHold, at: datetime, ids: IdSource) -> Hold:
        self.member.require_active()
        self._require_redeemable(command.points)
        timeout = command.timeout_seconds or self.program.policy.hold_timeout_seconds
        if type(timeout) is not int or not 1 <= timeout <= 30 * 86_400:
            raise InvalidRequest("hold timeout must be between 1 second and 30 days")
        self.settle(at, ids)
        txn_id = ids.next_id("transaction")
        movements = self._take(command.points, at, txn_id, MovementKind.HELD)
        hold = Hold(
            id=ids.next_id("hold"), program_id=self.program.id, member_id=self.member.id,
            amount=command.points, status=HoldStatus.ACTIVE, created_at=at,
            expires_at=at + timedelta(seconds=timeout), transaction_id=txn_id,
            drawn=tuple((m.lot_id, m.amount) for m in movements), order_ref=command.order_ref,
        )
        self.holds[hold.id] = hold
        self.recorded.new_hold_ids.add(hold.id)
        self._record(Transaction(
            txn_id, self.program.id, self.member.id, TransactionKind.HOLD,
            transfer_postings(self.member.id, Account.AVAILABLE, Account.HELD, command.points),
            at, order_ref=command.order_ref, hold_id=hold.id,
        ), movements)
        return hold

    def capture_hold(self, command: cmd.CaptureHold, at: datetime, ids: IdSource) -> tuple[Hold, Transaction]:
        self.settle(at, ids)
        hold = self._active_hold(command.hold_id)
        points = hold.amount if command.points is None else command.points
        require_points(points, "captured points")
        if points > hold.amount:
            raise InvalidRequest(f"cannot capture {points} points from a hold of {hold.amount}")
        txn_id = ids.next_id("transaction")
        movements: list[LotMovement] = []
        to_capture = points
        returned: list[tuple[PointLot, int]] = []
        for lot_id, drawn in hold.drawn:
            captured = min(drawn, to_capture)
            to_capture -= captured
            movements.append(LotMovement(lot_id, txn_id, MovementKind.HELD, -drawn))
            if captured:
                movements.append(LotMovement(lot_id, txn_id, MovementKind.REDEEMED, captured))
            if drawn - captured:
                returned.append((self.lots[lot_id], drawn - captured))
        postings = [Posting(Account.HELD, -hold.amount, self.member.id), Posting(Account.REDEEMED, points)]
        if points < hold.amount:
            postings.append(Posting(Account.AVAILABLE, hold.amount - points, self.member.id))
        self._give_back(returned)
        movements += self._repay_debt([lot for lot, _ in returned], txn_id)
        closed = self._close_hold(hold, HoldStatus.CAPTURED, at, points)
        txn = self._record(Transaction(
            txn_id, self.program.id, self.member.id, TransactionKind.CAPTURE, tuple(postings), at,
            order_ref=hold.order_ref, hold_id=hold.id,
        ), movements)
        return closed, txn

    def void_hold(self, command: cmd.VoidHold, at: datetime, ids: IdSource) -> tuple[Hold, Transaction]:
        self.settle(at, ids)
        return self._release_hold(self._active_hold(command.hold_id), HoldStatus.VOIDED, at, ids)

    def reverse(self, command: cmd.Reverse, at: datetime, ids: IdSource) -> Refund:
        if self.member.status is MemberStatus.CLOSED:
            raise MemberNotActive(f"member {self.member.id} is closed")
        order = self.orders.get(command.order_ref)
        if order is None or (order.earned_points == 0 and order.amount == 0):
            raise UnknownOrder(f"member {self.member.id} earned nothing for order {command.order_ref!r}")
        refund_money = self._refund_money(order, command.refund)
        refunded_after = order.refunded_amount + (refund_money.amount if refund_money else 0)
        if command.refund is None or order.amount == 0 or refunded_after >= order.amount:
            target = order.earned_points
        else:
            target = proportion(order.earned_points, refunded_after, order.amount)
        clawback = max(0, target - order.clawed_back_points)
        self.settle(at, ids)
        txn_id = ids.next_id("transaction") if clawback else None
        uncollected = 0
        movements: list[LotMovement] = []
        postings: list[Posting] = []
        if txn_id is not None:
            from_pending, from_available, movements = self._claw_back(command.order_ref, clawback, at, txn_id)
            shortfall = clawback - from_pending - from_available
            if shortfall and self.program.policy.allow_negative_balance:
                from_available += shortfall
                self.balances.debt += shortfall
            else:
                uncollected = shortfall
            collected = from_pending + from_available
            if from_pending:
                postings.append(Posting(Account.PENDING, -from_pending, self.member.id))
            if from_available:
                postings.append(Posting(Account.AVAILABLE, -from_available, self.member.id))
            if collected:
                postings.append(Posting(Account.REVERSED, collected))
            else:
                txn_id = None
        refund = Refund(self.member.id, command.order_ref, refund_money, clawback - uncollected,
                        uncollected, txn_id, at)
        self.orders[command.order_ref] = order.with_refund(
            refund_money.amount if refund_money else order.refundable_amount, clawback)
        self.recorded.refunds.append(refund)
        if txn_id is not None:
            self._record(Transaction(
                txn_id, self.program.id, self.member.id, TransactionKind.REVERSE, tuple(postings), at,
                order_ref=command.order_ref, money=refund_money, reason=command.reason,
            ), movements)
        return refund

    def adjust(self, command: cmd.Adjust, at: datetime, ids: IdSource) -> Transaction:
        if self.member.status is MemberStatus.CLOSED:
            raise MemberNotActive(f"member {self.member.id} is closed")
        if not command.reason or not command.reason.strip():
            raise InvalidRequest("an adjustment needs a reason")
        if type(command.points) is not int or command.points == 0 or abs(command.points) > MAX_POINTS:
            raise InvalidRequest(f"adjustment points must be a non-zero whole number up to {MAX_POINTS}")
        if command.points > 0:
            expires_at = command.expires_at or self.program.policy.expiry_for(at)
            if expires_at <= at:
                raise InvalidRequest("adjusted points must expire in the future")
            return self._credit(
                TransactionKind.ADJUST, Account.ADJUSTED, command.points, at, ids, LotSource.ADJUST,
                expires_at=expires_at, available_at=at, reason=command.reason,
            )
        self.settle(at, ids)
        points = -command.points
        txn_id = ids.next_id("transaction")
        movements = self._take(points, at, txn_id, MovementKind.ADJUSTED)
        return self._record(Transaction(
            txn_id, self.program.id, self.member.id, TransactionKind.ADJUST,
            transfer_postings(self.member.id, Account.AVAILABLE, Account.ADJUSTED, points), at,
            reason=command.reason,
        ), movements)

    def settle_review(self, command: cmd.SettleReview, at: datetime, ids: IdSource) -> Transaction | None:
        """Releases or reverses what is left of the lots earn `transaction_id` created; None
        when nothing is left to move (released by time and spent, or already reversed)."""
        self._require_lots()
        lots = sorted((lot for lot in self.lots.values()
                       if lot.transaction_id == command.transaction_id and lot.remaining > 0), key=fefo_key)
        if command.release:
            due = [lot for lot in lots if lot.is_pending]
            points = sum(lot.remaining for lot in due)
            if not points:
                return None
            for lot in due:
                self._put_lot(replace(lot, released=True))
            txn_id = ids.next_id("transaction")
            movements = self._repay_debt(due, txn_id)
            return self._record(Transaction(
                txn_id, self.program.id, self.member.id, TransactionKind.RELEASE,
                transfer_postings(self.member.id, Account.PENDING, Account.AVAILABLE, points), at,
                reason=command.reason), movements)
        if not lots:
            return None
        txn_id = ids.next_id("transaction")
        movements = self._consume([(lot, lot.remaining) for lot in lots], txn_id, MovementKind.REVERSED)
        from_pending = sum(lot.remaining for lot in lots if lot.is_pending)
        from_available = sum(lot.remaining for lot in lots) - from_pending
        postings = [Posting(Account.REVERSED, from_pending + from_available)]
        if from_pending:
            postings.append(Posting(Account.PENDING, -from_pending, self.member.id))
        if from_available:
            postings.append(Posting(Account.AVAILABLE, -from_available, self.member.id))
        return self._record(Transaction(
            txn_id, self.program.id, self.member.id, TransactionKind.REVERSE, tuple(postings), at,
            reason=command.reason), movements)

    def transfer(self, recipient: MemberLedger, command: cmd.Transfer, at: datetime, ids: IdSource) -> Transaction:
        if not self.program.policy.allow_transfers:
            raise TransfersNotAllowed(f"program {self.program.id} does not allow point transfers")
        if recipient.program.id != self.program.id:
            raise ProgramMismatch("points can only be transferred within one program")
        if recipient.member.id == self.member.id:
            raise InvalidRequest("a member cannot transfer points to themselves")
        require_points(command.points)
        self.member.require_active()
        recipient.member.require_active()
        self.settle(at, ids)
        txn_id = ids.next_id("transaction")
        movements = self._take(command.points, at, txn_id, MovementKind.TRANSFERRED)
        # The points keep the expiry they had: a transfer must not extend or shorten validity.
        received = [
            recipient._new_lot(ids, txn_id, LotSource.TRANSFER, m.amount, at,
                               expires_at=self.lots[m.lot_id].expires_at, available_at=at)
            for m in movements
        ]
        movements += recipient._repay_debt(received, txn_id)
        txn = Transaction(
            txn_id, self.program.id, self.member.id, TransactionKind.TRANSFER,
            transfer_postings(self.member.id, Account.AVAILABLE, Account.AVAILABLE, command.points,
                              target_member=recipient.member.id),
            at, reason=command.reason, counterparty_id=recipient.member.id,
        )
        recipient._apply_postings(txn)
        return self._record(txn, movements)

    def set_status(self, command: cmd.SetMemberStatus, at: datetime, ids: IdSource) -> list[Transaction]:
        """Closing forfeits what is left (voiding holds first), as closed accounts do."""
        self.member.require_transition(command.status)
        forfeited: list[Transaction] = []
        if command.status is MemberStatus.CLOSED and self.member.status is not MemberStatus.CLOSED:
            start = len(self.recorded.transactions)
            self.settle(at, ids)
            for hold in [h for h in self.holds.values() if h.status is HoldStatus.ACTIVE]:
                self._release_hold(hold, HoldStatus.VOIDED, at, ids)
            self._expire_lots(at, ids, everything=True, reason=command.reason or "membership closed")
            forfeited = self.recorded.transactions[start:]
        if command.status is not self.member.status:
            self.member = replace(self.member, status=command.status)
            self.recorded.status_changes.append((command.status, at))
        return forfeited

    def settle(self, at: datetime, ids: IdSource) -> list[Transaction]:
        """Brings the ledger up to `at`: releases due pending lots, releases timed-out
        holds, expires lots past their expiry. Idempotent: settling twice does nothing more."""
        self._require_lots()
        start = len(self.recorded.transactions)
        self._release_pending(at, ids)
        for hold in sorted((h for h in self.holds.values() if h.is_due(at)), key=lambda h: h.expires_at):
            self._release_hold(hold, HoldStatus.EXPIRED, hold.expires_at, ids)
        self._expire_lots(at, ids)
        return self.recorded.transactions[start:]

    # ---------------------------------------------------------------- internals

    def _require_lots(self) -> None:
        if not self.lots_loaded:
            raise RuntimeError("this operation needs the member's lots loaded")

    def _require_redeemable(self, points: int) -> None:
        require_points(points)
        minimum = self.program.policy.min_redemption
        if points < minimum:
            raise BelowMinimumRedemption(f"redemptions start at {minimum} points", minimum=minimum)

    def _active_hold(self, hold_id: int) -> Hold:
        hold = self.holds.get(hold_id)
        if hold is None:
            raise UnknownHold(f"no hold {hold_id} for member {self.member.id}")
        if hold.status is not HoldStatus.ACTIVE:
            raise HoldNotActive(f"hold {hold_id} is {hold.status}", status=str(hold.status))
        return hold

    def _refund_money(self, order: OrderHistory, refund: Money | None) -> Money | None:
        if refund is None:
            fully_refunded = order.refundable_amount <= 0 if order.amount else (
                order.clawed_back_points >= order.earned_points)
            if fully_refunded:
                raise RefundExceedsOrder(f"order {order.order_ref} is already fully refunded")
            return Money(order.refundable_amount, order.currency) if order.currency and order.amount else None
        if order.currency is None or order.amount == 0:
            raise InvalidRequest(f"order {order.order_ref} earned points without an amount; refund it whole")
        refund.require_currency(order.currency)
        if refund.amount <= 0:
            raise InvalidRequest("a refund amount must be positive")
        if refund.amount > order.refundable_amount:
            raise RefundExceedsOrder(
                f"refund of {refund.amount} exceeds the {order.refundable_amount} left of order {order.order_ref}",
                refundable=order.refundable_amount,
            )
        return refund

    def _note_order_earn(self, command: cmd.Earn, points: int) -> None:
        if command.order_ref is None:
            return
        if command.order_ref not in self.orders and not self.orders_complete:
            return  # not loaded: nothing in this batch refunds it
        order = self.orders.get(command.order_ref, OrderHistory(command.order_ref))
        money = command.money
        self.orders[command.order_ref] = order.with_earn(
            points, money.amount if money else 0, money.currency if money else None)

    def _new_lot(self, ids: IdSource, txn_id: int, source: LotSource, points: int, at: datetime, *,
                 expires_at: datetime, available_at: datetime, order_ref: str | None = None) -> PointLot:
        lot = PointLot(
            id=ids.next_id("lot"), member_id=self.member.id, transaction_id=txn_id, source=source,
            amount=points, remaining=points, earned_at=at, expires_at=expires_at,
            available_at=available_at, released=available_at <= at, order_ref=order_ref,
        )
        self.lots[lot.id] = lot
        self.recorded.new_lot_ids[lot.id] = txn_id
        self.recorded.lots_by_transaction.setdefault(txn_id, []).append(lot.id)
        return lot

    def _credit(self, kind: TransactionKind, source_account: Account, points: int, at: datetime,
                ids: IdSource, source: LotSource, *, expires_at: datetime, available_at: datetime,
                order_ref: str | None = None, money: Money | None = None,
                reason: str | None = None, rules: tuple[cmd.RulePoints, ...] = (),
                ruleset_hash: str | None = None) -> Transaction:
        """One transaction and one lot for `points`; with `rules`, a pair of postings per
        rule, each naming it (the transaction names the rule too when there is only one)."""
        txn_id = ids.next_id("transaction")
        lot = self._new_lot(ids, txn_id, source, points, at, expires_at=expires_at,
                            available_at=available_at, order_ref=order_ref)
        target = Account.AVAILABLE if lot.released else Account.PENDING
        movements = self._repay_debt([lot], txn_id) if lot.released else []
        if rules:
            postings = tuple(posting for part in rules for posting in
                             transfer_postings(self.member.id, source_account, target, part.points,
                                               rule_id=part.rule_id))
        else:
            postings = transfer_postings(self.member.id, source_account, target, points)
        named = {part.rule_id for part in rules}
        return self._record(Transaction(
            txn_id, self.program.id, self.member.id, kind, postings, at,
            order_ref=order_ref, money=money, reason=reason,
            rule_id=next(iter(named)) if len(named) == 1 else None, ruleset_hash=ruleset_hash,
        ), movements)

    def _take(self, points: int, at: datetime, txn_id: int, kind: MovementKind) -> list[LotMovement]:
        available = self.spendable(at)
        if points > available:
            raise InsufficientPoints(
                f"{points} points requested, {available} available", requested=points, available=available)
        return self._consume(plan_consumption(self.spendable_lots(at), points), txn_id, kind)

    def _consume(self, plan: list[tuple[PointLot, int]], txn_id: int, kind: MovementKind) -> list[LotMovement]:
        movements = []
        for lot, take in plan:
            self._put_lot(lot.with_remaining(lot.remaining - take))
            movements.append(LotMovement(lot.id, txn_id, kind, take))
        return movements

    def _give_back(self, returned: list[tuple[PointLot, int]]) -> None:
        for lot, points in returned:
            current = self.lots[lot.id]
            self._put_lot(current.with_remaining(current.remaining + points))

    def _repay_debt(self, candidates: list[PointLot], txn_id: int) -> list[LotMovement]:
        """Points arriving while a member owes a clawback pay the debt first."""
        if not self.balances.debt:
            return []
        lots = sorted((self.lots[lot.id] for lot in candidates if self.lots[lot.id].released), key=fefo_key)
        plan = plan_consumption(lots, self.balances.debt)
        self.balances.debt -= sum(take for _, take in plan)
        return self._consume(plan, txn_id, MovementKind.REVERSED)

    def _claw_back(self, order_ref: str, points: int, at: datetime,
                   txn_id: int) -> tuple[int, int, list[LotMovement]]:
        """Takes `points` back: first from what the order itself earned, then from the
        member's other points, first-expiring-first. Returns (from pending, from available, movements)."""
        self._require_lots()
        own = sorted((lot for lot in self.lots.values() if lot.order_ref == order_ref and lot.remaining > 0
                      and lot.source is LotSource.EARN), key=fefo_key)
        plan = plan_consumption(own, points)
        left = points - sum(take for _, take in plan)
        others = [lot for lot in self.spendable_lots(at) if lot.order_ref != order_ref]
        plan += plan_consumption(others, left)
        from_pending = sum(take for lot, take in plan if lot.is_pending)
        from_available = sum(take for lot, take in plan if not lot.is_pending)
        return from_pending, from_available, self._consume(plan, txn_id, MovementKind.REVERSED)

    def _release_pending(self, at: datetime, ids: IdSource) -> None:
        due = sorted((lot for lot in self.lots.values() if lot.is_pending and lot.available_at <= at),
                     key=lambda lot: (lot.available_at, lot.id))
        points = sum(lot.remaining for lot in due)
        for lot in due:
            self._put_lot(replace(lot, released=True))
        if not points:
            return
        txn_id = ids.next_id("transaction")
        movements = self._repay_debt(due, txn_id)
        self._record(Transaction(
            txn_id, self.program.id, self.member.id, TransactionKind.RELEASE,
            transfer_postings(self.member.id, Account.PENDING, Account.AVAILABLE, points),
            max(lot.available_at for lot in due),
        ), movements)

    def _release_hold(self, hold: Hold, status: HoldStatus, at: datetime,
                      ids: IdSource) -> tuple[Hold, Transaction]:
        txn_id = ids.next_id("transaction")
        returned = [(self.lots[lot_id], points) for lot_id, points in hold.drawn]
        self._give_back(returned)
        movements = [LotMovement(lot.id, txn_id, MovementKind.HELD, -points) for lot, points in returned]
        movements += self._repay_debt([lot for lot, _ in returned], txn_id)
        closed = self._close_hold(hold, status, at)
        txn = self._record(Transaction(
            txn_id, self.program.id, self.member.id, TransactionKind.VOID,
            transfer_postings(self.member.id, Account.HELD, Account.AVAILABLE, hold.amount), at,
            order_ref=hold.order_ref, hold_id=hold.id,
            reason="hold timed out" if status is HoldStatus.EXPIRED else None,
        ), movements)
        return closed, txn

    def _close_hold(self, hold: Hold, status: HoldStatus, at: datetime, captured: int = 0) -> Hold:
        closed = hold.close(status, at, captured)
        self.holds[hold.id] = closed
        self.recorded.touched_hold_ids.add(hold.id)
        return closed

    def _expire_lots(self, at: datetime, ids: IdSource, *, everything: bool = False,
                     reason: str | None = None) -> None:
        due = sorted((lot for lot in self.lots.values() if lot.remaining > 0
                      and (everything or (lot.released and lot.expires_at <= at))), key=fefo_key)
        if not due:
            return
        txn_id = ids.next_id("transaction")
        movements = self._consume([(lot, lot.remaining) for lot in due], txn_id, MovementKind.EXPIRED)
        from_pending = sum(m.amount for lot, m in zip(due, movements) if lot.is_pending)
        from_available = sum(m.amount for m in movements) - from_pending
        postings = [Posting(Account.EXPIRED, from_pending + from_available)]
        if from_pending:
            postings.append(Posting(Account.PENDING, -from_pending, self.member.id))
        if from_available:
            postings.append(Posting(Account.AVAILABLE, -from_available, self.member.id))
        occurred = at if everything else max(lot.expires_at for lot in due)
        self._record(Transaction(
            txn_id, self.program.id, self.member.id, TransactionKind.EXPIRE, tuple(postings),
            occurred, reason=reason,
        ), movements)

    def _put_lot(self, lot: PointLot) -> None:
        self.lots[lot.id] = lot
        if lot.id not in self.recorded.new_lot_ids:
            self.recorded.touched_lot_ids.add(lot.id)

    def _apply_postings(self, txn: Transaction) -> None:
        for posting in txn.postings:
            if posting.member_id != self.member.id:
                continue
            if posting.account is Account.AVAILABLE:
                self.balances.available += posting.amount
            elif posting.account is Account.PENDING:
                self.balances.pending += posting.amount
            else:
                self.balances.held += posting.amount
        self.recorded.balances_changed = True

    def _record(self, txn: Transaction, movements: list[LotMovement]) -> Transaction:
        self._apply_postings(txn)
        self.recorded.transactions.append(txn)
        self.recorded.movements.extend(movements)
        return txn
