"""Synthetic history of the example program: members signing up over thirteen months,
buying, reviewing, referring friends, redeeming, gifting and asking for refunds.

The output is a list of events in chronological order, of two kinds:

- business events (`signup`, `purchase` with item categories, `review`, `referral`,
  `refund`, `birthday`): bodies of the events API, judged by the published ruleset, which
  decides every point they earn (rules, tier bonuses, challenge rewards);
- ledger events of the importer (docs/import.md) for what no rule decides: redemptions,
  holds, gifts, goodwill adjustments, suspensions and closures.

The generator keeps a small model of every member's lots (first-expiring-first, one-year
validity, refunds clawing back proportionally) and only spends points the member surely has:
it counts only the earnings no rule can withhold (the welcome bonus, the base rate, the first
purchase bonus); the rest (referrals, reviews, frequent buyers, tiers, challenges) is extra.
A referral names a referrer who stays active, so that what it pays does not hang on a
status replay cannot see. The same seed and member count give the same events, shifted to
end at `now`; the clock is the caller's. `referral` events carry the referrer's member id in
`referrer`: the loader turns it into the referrer's code."""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..domain.clock import as_utc
from ..service.receipts import iso
from ..service.example_program import CURRENCY, POLICY
from .program import BONUSES

SECOND = 1_000_000  # times are integer microseconds from the program's launch
DAY = 86_400 * SECOND
# A year and a month: long enough that the first month's points expire before now.
HISTORY_DAYS = 395
LOT_LIFE = POLICY.lot_validity_days * DAY
MIN_AMOUNT, MAX_AMOUNT = 10_000, 300_000
CATEGORIES = ("design", "design", "translation", "video", "programming")  # design: the example's challenge
BUSINESS = frozenset({"signup", "purchase", "review", "referral", "refund", "birthday"})


@dataclass
class _Lot:
    id: int
    expires: int
    earned: int
    remaining: int
    order_ref: str | None = None


@dataclass
class _Order:
    member: int
    amount: int
    earned: int = 0
    refunded: int = 0
    clawed: int = 0


@dataclass
class _Member:
    index: int
    ref: str
    signup: int
    vip: bool
    referrer: int | None = None
    leaves: bool = False  # a suspension or closure is planned
    status: str = "new"  # new, active, suspended, closed
    purchases: int = 0
    lots: list[_Lot] = field(default_factory=list)
    holds: dict[str, list[tuple[_Lot, int]]] = field(default_factory=dict)

    def spendable_lots(self, at: int) -> list[_Lot]:
        # The ledger's first-expiring-first order: expiry, then earning time, then lot id.
        return sorted((lot for lot in self.lots if lot.remaining > 0 and lot.expires > at),
                      key=lambda lot: (lot.expires, lot.earned, lot.id))

    def spendable(self, at: int) -> int:
        return sum(lot.remaining for lot in self.spendable_lots(at))


def _take(lots: list[_Lot], points: int) -> list[tuple[_Lot, int]]:
    taken = []
    for lot in lots:
        if points == 0:
            break
        amount = min(lot.remaining, points)
        if amount:
            lot.remaining -= amount
            points -= amount
            taken.append((lot, amount))
    return taken


class _History:
    """Walks the members' intentions in time order and writes the events that follow."""

    def __init__(self, rng: random.Random, start: datetime, seed: int = 0, ledger_only: bool = False) -> None:
        self.rng = rng
        self.seed = seed
        self.ledger_only = ledger_only
        self.start = start
        self.events: list[dict[str, Any]] = []
        self.members: list[_Member] = []
        self.enrolled: list[int] = []
        self.orders: dict[str, _Order] = {}
        self.queue: list[tuple[int, int, str, int, Any]] = []
        self._seq = 0
        self._lot_ids = 0

    # ------------------------------------------------------------ scheduling

    def schedule(self, at: int, kind: str, member: int, payload: Any = None) -> None:
        self._seq += 1
        heapq.heappush(self.queue, (at, self._seq, kind, member, payload))

    def emit(self, at: int, kind: str, member: _Member, **fields: Any) -> str:
        event_id = f"demo-{len(self.events) + 1:06d}"
        self.events.append({"event_id": event_id, "type": kind, "member": member.ref,
                            "occurred_at": iso(self.start + timedelta(microseconds=at)), **fields})
        return event_id

    def business(self, at: int, kind: str, member: _Member, **fields: Any) -> str | None:
        """An events API body; for a ledger-only history, its import events (below)."""
        if self.ledger_only:
            return self._as_import(at, kind, member, fields)
        event_id = f"demo-{len(self.events) + 1:06d}"
        self.events.append({"event_id": event_id, "type": kind, "member_id": member_id(self.seed, member.index),
                            "occurred_at": iso(self.start + timedelta(microseconds=at)), **fields})
        return event_id

    def _as_import(self, at: int, kind: str, member: _Member, fields: dict[str, Any]) -> str | None:
        """What the ledger holds of a business event when there are no rules: the enrolment
        and welcome bonus, the purchase's earn at the program's rate and the first purchase's
        bonus, the refund's reversal (what the model counts, nothing more)."""
        if kind == "signup":
            self.emit(at, "enroll", member)
            return self.emit(at, "earn", member, points=BONUSES.welcome, reason="welcome bonus")
        if kind == "purchase":
            amount, order_ref = fields["amount"]["amount"], fields["order_id"]
            first = self.emit(at, "earn", member, amount=amount, currency=CURRENCY, order_ref=order_ref)
            if member.purchases == 0:
                self.emit(at, "earn", member, points=BONUSES.first_purchase, reason="first purchase bonus",
                          order_ref=order_ref)
            return first
        if kind == "refund":
            money = fields.get("amount")
            extra = {"amount": money["amount"], "currency": CURRENCY} if money else {}
            return self.emit(at, "reverse", member, order_ref=fields["order_id"], reason="refund", **extra)
        return None  # reviews, referrals and birthdays earn only by rules

    # ------------------------------------------------------------ the model of the ledger

    def credit(self, member: _Member, at: int, points: int, order_ref: str | None = None,
               expires: int | None = None) -> None:
        self._lot_ids += 1
        member.lots.append(_Lot(self._lot_ids, expires or at + LOT_LIFE, at, points, order_ref))

    # ------------------------------------------------------------ what members do

    def run(self, until: int) -> None:
        while self.queue:
            at, _, kind, index, payload = heapq.heappop(self.queue)
            if at > until:
                continue
            getattr(self, f"_{kind}")(at, self.members[index], payload)

    def _signup(self, at: int, member: _Member, _: Any) -> None:
        member.status = "active"
        self.business(at, "signup", member, external_ref=member.ref)
        self.enrolled.append(member.index)
        self.credit(member, at, BONUSES.welcome)
        referrer = self.members[member.referrer] if member.referrer is not None else None
        if referrer is not None and referrer.status == "active":
            self.business(at, "referral", member, referrer=member_id(self.seed, referrer.index))
        if self.rng.random() < 0.05:  # a birthday bonus some rulesets pay (the example's does not)
            self.schedule(at + self.rng.randrange(DAY, 300 * DAY), "birthday", member.index)

    def _birthday(self, at: int, member: _Member, _: Any) -> None:
        if member.status == "active" and not self.ledger_only:
            year = (self.start + timedelta(microseconds=at)).year
            self.events.append({"event_id": f"birthday-{year}-{member_id(self.seed, member.index)}",
                                "type": "birthday", "member_id": member_id(self.seed, member.index),
                                "occurred_at": iso(self.start + timedelta(microseconds=at))})

    def _purchase(self, at: int, member: _Member, amount: int) -> None:
        if member.status != "active":
            return
        order_ref = f"order-{len(self.orders) + 1:06d}"
        self.orders[order_ref] = order = _Order(member.index, amount)
        category = self.rng.choice(CATEGORIES)
        self.business(at, "purchase", member, order_id=order_ref, amount={"amount": amount, "currency": CURRENCY},
                      items=[{"category": category, "amount": amount, "quantity": 1}])  # before the count
        # What no rule withholds: the base rate and, on the first purchase, its bonus (both
        # earned on the order, so a refund claws them back).
        points = POLICY.earn_rate.points_for(amount, POLICY.rounding)
        member.purchases += 1
        if member.purchases == 1:
            points += BONUSES.first_purchase
        order.earned += points
        self.credit(member, at, points, order_ref)
        rng = self.rng
        if rng.random() < 0.3:
            self.schedule(at + rng.randrange(DAY, 7 * DAY), "review", member.index, order_ref)
        if rng.random() < 0.06:
            partial = rng.random() < 0.4
            refund = max(100, int(amount * rng.uniform(0.1, 0.7)) // 100 * 100) if partial else None
            self.schedule(at + rng.randrange(DAY, 14 * DAY), "refund", member.index, (order_ref, refund))
        if rng.random() < 0.25:
            self.schedule(at + rng.randrange(SECOND, 30 * DAY), "redeem", member.index)
        if member.vip and rng.random() < 0.15:
            self.schedule(at + rng.randrange(SECOND, 20 * DAY), "gift", member.index)

    def _review(self, at: int, member: _Member, order_ref: str) -> None:
        if member.status == "active":
            self.business(at, "review", member, order_id=order_ref)

    def _refund(self, at: int, member: _Member, payload: tuple[str, int | None]) -> None:
        order_ref, amount = payload
        order = self.orders[order_ref]
        if member.status == "closed" or order.refunded >= order.amount:
            return
        fields: dict[str, Any] = {"order_id": order_ref}
        if amount is None or order.refunded + amount >= order.amount:
            target, refunded = order.earned, order.amount
        else:
            refunded = order.refunded + amount
            target = order.earned * refunded // order.amount  # the ledger's proportional clawback
            fields.update(amount={"amount": amount, "currency": CURRENCY})
        clawback = max(0, target - order.clawed)
        own = sorted((lot for lot in member.lots if lot.order_ref == order_ref and lot.remaining > 0
                      and lot.expires > at), key=lambda lot: (lot.expires, lot.earned, lot.id))
        left = clawback - sum(taken for _, taken in _take(own, clawback))
        _take([lot for lot in member.spendable_lots(at) if lot.order_ref != order_ref], left)
        order.refunded, order.clawed = refunded, order.clawed + clawback
        self.business(at, "refund", member, **fields)

    def _redeem(self, at: int, member: _Member, _: Any) -> None:
        balance = member.spendable(at)
        if member.status != "active" or balance < POLICY.min_redemption:
            return
        points = POLICY.min_redemption * self.rng.randint(1, min(balance // POLICY.min_redemption, 5))
        if self.rng.random() < 0.3:  # at a point of sale: hold first, settle the bill minutes later
            hold_event = self.emit(at, "hold", member, points=points, order_ref=f"pos-{len(self.events) + 1:06d}")
            member.holds[hold_event] = _take(member.spendable_lots(at), points)
            self.schedule(at + self.rng.randrange(30 * SECOND, 600 * SECOND), "settle_hold", member.index, hold_event)
            return
        _take(member.spendable_lots(at), points)
        self.emit(at, "redeem", member, points=points, reason="reward catalogue")

    def _settle_hold(self, at: int, member: _Member, hold_event: str) -> None:
        drawn = member.holds.pop(hold_event, None)
        if drawn is None:
            return  # voided when the member closed their account
        held = sum(points for _, points in drawn)
        roll = self.rng.random()
        if roll < 0.2:
            self.emit(at, "void", member, hold_event=hold_event)
            captured = 0
        elif roll < 0.45:  # the bill came to less than was reserved
            captured = max(1, held * self.rng.randint(50, 95) // 100)
            self.emit(at, "capture", member, hold_event=hold_event, points=captured)
        else:
            captured = held
            self.emit(at, "capture", member, hold_event=hold_event)
        for lot, points in drawn:
            kept = min(points, captured)
            captured -= kept
            lot.remaining += points - kept

    def _gift(self, at: int, member: _Member, _: Any) -> None:
        balance = member.spendable(at)
        if member.status != "active" or balance < 2_000:
            return
        friend = self.members[self.rng.choice(self.enrolled)]
        if friend is member or friend.status != "active":
            return
        points = 1_000 * self.rng.randint(1, min(3, balance // 2_000))
        for lot, taken in _take(member.spendable_lots(at), points):
            self.credit(friend, at, taken, expires=lot.expires)  # gifted points keep their expiry
        self.emit(at, "transfer", member, to_member=friend.ref, points=points, reason="VIP gift")

    def _goodwill(self, at: int, member: _Member, _: Any) -> None:
        if member.status in ("active", "suspended"):
            self.emit(at, "adjust", member, points=500, reason="goodwill: late delivery")
            self.credit(member, at, 500)

    def _suspend(self, at: int, member: _Member, _: Any) -> None:
        if member.status == "active":
            member.status = "suspended"
            self.emit(at, "suspend", member, reason="fraud review")
            self.schedule(at + self.rng.randrange(DAY, 10 * DAY), "reactivate", member.index)

    def _reactivate(self, at: int, member: _Member, _: Any) -> None:
        if member.status == "suspended":
            member.status = "active"
            self.emit(at, "reactivate", member, reason="review cleared")

    def _close(self, at: int, member: _Member, _: Any) -> None:
        if member.status in ("active", "suspended"):
            for drawn in member.holds.values():
                for lot, points in drawn:
                    lot.remaining += points
            member.holds.clear()
            for lot in member.lots:
                lot.remaining = 0
            member.status = "closed"
            self.emit(at, "close", member, reason="member request")


def generate_events(members: int, seed: int, now: datetime, days: int = HISTORY_DAYS, *,
                    ledger_only: bool = False) -> list[dict[str, Any]]:
    """The events of `members` members over the `days` days before `now`. `ledger_only`:
    the same history as import events only (a program without rules), for `dangol import`."""
    if not 1 <= members <= 1_000_000:
        raise ValueError("the demo has between 1 and 1000000 members")
    rng = random.Random(seed)
    span = days * DAY
    history = _History(rng, as_utc(now) - timedelta(days=days), seed, ledger_only)
    launch_week = BONUSES.launch_week_days * DAY
    for index in range(members):
        if rng.random() < 0.15:
            signup = rng.randrange(0, launch_week)
        else:  # later signups grow with word of mouth
            signup = launch_week + int((span - launch_week - 2 * DAY) * math.sqrt(rng.random()))
        vip = rng.random() < 0.1
        member = _Member(index, f"customer-{index + 1:05d}", signup, vip)
        earlier = [m.index for m in history.members if m.signup < signup and not m.leaves]
        if earlier and rng.random() < 0.25:
            member.referrer = rng.choice(earlier)
        history.members.append(member)
        history.schedule(signup, "signup", index)
        _plan(history, rng, member, span)
    history.run(until=span)
    return history.events


def member_id(seed: int, index: int) -> str:
    """The demo's member ids: the same seed, the same ids (a second load finds them)."""
    return "m_" + hashlib.sha256(f"dangol-demo/{seed}/{index}".encode()).hexdigest()[:20]


def _plan(history: _History, rng: random.Random, member: _Member, span: int) -> None:
    """What a member will try to do; whether they can is decided when the time comes."""
    stays = member.signup + int(rng.expovariate(1 / 240) * DAY)
    if rng.random() >= 0.25:  # a quarter never buy anything
        per_day = min(0.5, 0.25 / 30 * rng.paretovariate(1.2) * (2 if member.vip else 1))
        typical = rng.lognormvariate(math.log(45_000 * (2 if member.vip else 1)), 0.5)
        at = member.signup + int(rng.expovariate(per_day) * DAY)
        if member.signup < BONUSES.launch_week_days * DAY and rng.random() < 0.5:  # the launch week's double points pull buyers in
            at = member.signup + rng.randrange(SECOND, BONUSES.launch_week_days * DAY - member.signup)
        for _ in range(200):
            if at >= min(stays, span):
                break
            amount = int(min(MAX_AMOUNT, max(MIN_AMOUNT, rng.lognormvariate(math.log(typical), 0.4))))
            history.schedule(at, "purchase", member.index, amount // 100 * 100)
            at += max(SECOND, int(rng.expovariate(per_day) * DAY))
    if rng.random() < 0.02:
        history.schedule(member.signup + rng.randrange(DAY, 120 * DAY), "goodwill", member.index)
    if rng.random() < 0.01:
        member.leaves = True
        history.schedule(member.signup + rng.randrange(DAY, 120 * DAY), "suspend", member.index)
    if stays < span and rng.random() < 0.1:
        member.leaves = True
        history.schedule(stays + rng.randrange(DAY, 30 * DAY), "close", member.index)
