"""The ledger replay made again, compared with the program's own: member by member, each
member's transactions in the order they were written, each with its postings, the lots it
created and the lot movements it made; then the refunds and the coupons. Ids differ between
the two ledgers: transactions pair up by their place in the member's history, lots by their
place in the transaction that created them, holds as replay placed them. Only the first
difference of each member is named: what follows it differs because of it.

Replay writes today's shape: one transaction (and one lot) for what an event's rules gave a
member, each posting naming its rule. A ledger written before postings named rules has one
earn (and one lot) per rule instead; those are compared as the one transaction they would be
now (`one_per_event`), their lots as one, and the lot movements of later transactions
summed onto it, which is what the same history writes today."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..storage.ledger_history import CouponRow, LedgerHistory, RefundRow, TransactionRow
from .receipts import iso

Difference = tuple[float, str]  # (the recorded transaction it names, or where it comes; what differs)


def compare_ledgers(recorded: LedgerHistory, replayed: LedgerHistory, holds: Mapping[int, int],
                    events_of: Mapping[int, int] | None = None) -> list[Difference]:
    """Every member's first difference, by the recorded transaction it names; then the
    refunds' and the coupons'. `holds`: recorded hold id -> the replayed one; `events_of`:
    recorded transaction id -> the event whose answer names it."""
    ours, theirs = _by_member(one_per_event(recorded.transactions, events_of)), _by_member(replayed.transactions)
    paired: dict[int, int] = {}  # replayed transaction id -> recorded
    lots: dict[int, int] = {}  # replayed lot id -> recorded
    for member in ours.keys() & theirs.keys():
        for mine, again in zip(ours[member], theirs[member]):
            paired[again.id] = mine.id
            lots.update((b.id, a.id) for a, b in zip(mine.lots, again.lots))
    placed = {again: mine for mine, again in holds.items()}
    differences: list[Difference] = []
    for member in sorted(ours.keys() | theirs.keys()):
        found = _first_difference(ours.get(member, []), theirs.get(member, []), lots, placed)
        if found is not None:
            differences.append(found)
    differences.sort(key=lambda found: found[0])
    differences += _refund_differences(recorded.refunds, replayed.refunds, paired)
    differences += _coupon_differences(recorded.coupons, replayed.coupons)
    return differences


def one_per_event(transactions: Sequence[TransactionRow],
                  events_of: Mapping[int, int] | None) -> list[TransactionRow]:
    """The transactions in today's shape. An earn of one rule written before postings named
    rules gets its postings naming the rule; an event's rule earns for one member, written
    then one per rule, become one: its postings each naming their rule, its lots one lot (the
    first's id), later lot movements of the folded lots summed onto it. Challenge rewards and
    coupons' earns stay earns of their own, as they are written today."""
    events_of = events_of or {}
    groups: dict[tuple[int, str], list[TransactionRow]] = defaultdict(list)
    earlier: set[int] = set()
    for txn in transactions:
        if txn.kind == "earn" and txn.rule_id is not None and all(p[3] is None for p in txn.postings):
            earlier.add(txn.id)
            if txn.id in events_of and not txn.rule_id.startswith(("coupon:", "challenge:")):
                groups[(events_of[txn.id], txn.member_id)].append(txn)
    merged: dict[int, TransactionRow] = {}  # first id -> the group as one
    folded: set[int] = set()
    alias: dict[int, int] = {}  # a folded lot -> the lot it is part of
    for group in groups.values():
        lots = [lot for txn in group for lot in txn.lots]
        if len(group) < 2 or len({(lot.available_at, lot.expires_at, lot.order_ref) for lot in lots}) > 1:
            continue
        first = group[0]
        alias.update((other.id, lots[0].id) for other in lots[1:])
        rules = {txn.rule_id for txn in group}
        merged[first.id] = replace(
            first, points=sum(txn.points for txn in group),
            order_ref=next((txn.order_ref for txn in group if txn.order_ref), None),
            money=next((txn.money for txn in group if txn.money), None),
            rule_id=first.rule_id if len(rules) == 1 else None,
            postings=tuple(posting for txn in group for posting in _named(txn).postings),
            lots=(replace(lots[0], amount=sum(lot.amount for lot in lots)),) if lots else (),
            movements=tuple(m for txn in group for m in txn.movements))
        folded.update(txn.id for txn in group[1:])
    shaped = []
    for txn in transactions:
        if txn.id in folded:
            continue
        txn = merged.get(txn.id) or (_named(txn) if txn.id in earlier else txn)
        if alias and any(lot in alias for lot, _, _ in txn.movements):
            summed: dict[tuple[int, str], int] = {}
            for lot, kind, amount in txn.movements:
                key = (alias.get(lot, lot), kind)
                summed[key] = summed.get(key, 0) + amount
            txn = replace(txn, movements=tuple((lot, kind, amount) for (lot, kind), amount in summed.items()
                                               if amount))
        shaped.append(txn)
    return shaped


def _named(txn: TransactionRow) -> TransactionRow:
    """An earlier earn with its postings naming its one rule, as they would now."""
    return replace(txn, postings=tuple((account, member, amount, txn.rule_id)
                                       for account, member, amount, _ in txn.postings))


def _by_member(transactions: Sequence[TransactionRow]) -> dict[str, list[TransactionRow]]:
    found: dict[str, list[TransactionRow]] = defaultdict(list)
    for txn in transactions:
        found[txn.member_id].append(txn)
    return found


def describe(txn: TransactionRow) -> str:
    """A transaction as a difference names it."""
    return f"{txn.kind} of {txn.points} points, {txn.member_id}, at {iso(txn.occurred_at)}"


# What is compared of a transaction, in the order differences are looked for.
_FIELDS: tuple[tuple[str, Callable[[TransactionRow], Any]], ...] = (
    ("kind", lambda txn: txn.kind),
    ("points", lambda txn: txn.points),
    ("postings", lambda txn: sorted(txn.postings, key=lambda p: (p[0], p[1] or "", p[2], p[3] or ""))),
    ("time", lambda txn: iso(txn.occurred_at)),
    ("order", lambda txn: txn.order_ref),
    ("money", lambda txn: txn.money),
    ("reason", lambda txn: txn.reason),
    ("rule", lambda txn: txn.rule_id),
    ("ruleset", lambda txn: txn.ruleset_hash),
    ("counterparty", lambda txn: txn.counterparty_id),
    ("lots", lambda txn: [(lot.source, lot.amount, iso(lot.earned_at), iso(lot.available_at), iso(lot.expires_at),
                           lot.order_ref) for lot in txn.lots]),
)


def _first_difference(ours: list[TransactionRow], theirs: list[TransactionRow], lots: Mapping[int, int],
                      holds: Mapping[int, int]) -> Difference | None:
    for index, mine in enumerate(ours):
        if index >= len(theirs):
            return mine.id, f"transaction {mine.id} ({describe(mine)}): replaying the ledger does not make it"
        again = theirs[index]
        for name, value in (*_FIELDS, ("hold", None), ("lot movements", None)):
            a: Any
            b: Any
            if name == "hold":
                a, b = mine.hold_id, None if again.hold_id is None else holds.get(again.hold_id, -again.hold_id)
            elif name == "lot movements":
                a, b = sorted(mine.movements), sorted((lots.get(lot, -lot), kind, amount)
                                                      for lot, kind, amount in again.movements)
            else:
                assert value is not None
                a, b = value(mine), value(again)
            if a != b:
                return mine.id, (f"transaction {mine.id} ({describe(mine)}): recorded {name} {_shown(a)}; "
                                 f"replaying the ledger gives {_shown(b)}")
    if len(theirs) > len(ours):
        extra = theirs[len(ours)]
        after = f"after transaction {ours[-1].id}" if ours else "as their first"
        return (ours[-1].id + 0.5 if ours else 0.0,
                f"replaying the ledger makes a transaction it does not have, {after}: {describe(extra)}")
    return None


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return str(iso(value))
    return repr(value)


def _refund_differences(ours: Sequence[RefundRow], theirs: Sequence[RefundRow],
                        paired: Mapping[int, int]) -> list[Difference]:
    def shape(refund: RefundRow, transaction: int | None) -> tuple[Any, ...]:
        return (refund.order_ref, refund.money, refund.clawed_back, refund.uncollected, iso(refund.recorded_at),
                transaction)

    mine_by, again_by = defaultdict(list), defaultdict(list)
    for refund in ours:
        mine_by[refund.member_id].append(shape(refund, refund.transaction_id))
    for refund in theirs:
        again_by[refund.member_id].append(shape(refund, None if refund.transaction_id is None else
                                                paired.get(refund.transaction_id, -refund.transaction_id)))
    found: list[Difference] = []
    for member in sorted(mine_by.keys() | again_by.keys()):
        mine, again = mine_by.get(member, []), again_by.get(member, [])
        if mine != again:
            index = next((i for i, (a, b) in enumerate(zip(mine, again)) if a != b), min(len(mine), len(again)))
            a = mine[index] if index < len(mine) else None
            b = again[index] if index < len(again) else None
            found.append((float("inf"), f"refund {index + 1} of {member} (order, money, clawed back, uncollected, "
                                        f"time, transaction): recorded {a}; replaying the ledger gives {b}"))
    return found


_COUPON_FIELDS = ("member_id", "template", "name", "benefit", "value", "cap", "source", "issued_at", "expires_at",
                  "redeemed_at")


def _coupon_differences(ours: Mapping[str, CouponRow], theirs: Mapping[str, CouponRow]) -> list[Difference]:
    found: list[Difference] = []
    for code in sorted(ours.keys() | theirs.keys()):
        mine, again = ours.get(code), theirs.get(code)
        if mine is None:
            assert again is not None
            found.append((float("inf"), f"coupon {code} ({again.template} of {again.member_id}): replaying the "
                                        "events issues it, but it is not recorded"))
            continue
        where = f"coupon {code} ({mine.template} of {mine.member_id})"
        if again is None:
            found.append((float("inf"), f"{where}: no recorded event issues it again"))
            continue
        name = next((f for f in _COUPON_FIELDS if getattr(mine, f) != getattr(again, f)), None)
        if name is not None:
            found.append((float("inf"), f"{where}: recorded {name.replace('_', ' ')} {_shown(getattr(mine, name))}; "
                                        f"replaying the events gives {_shown(getattr(again, name))}"))
    return found
