"""The ledger replay made again, compared with the program's own: member by member, each
member's transactions in the order they were written, each with its postings, the lots it
created and the lot movements it made; then the refunds and the coupons. Ids differ between
the two ledgers: transactions pair up by their place in the member's history, lots by their
place in the transaction that created them, holds as replay placed them. Only the first
difference of each member is named: what follows it differs because of it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..storage.ledger_history import CouponRow, LedgerHistory, RefundRow, TransactionRow
from .receipts import iso

Difference = tuple[float, str]  # (the recorded transaction it names, or where it comes; what differs)


def compare_ledgers(recorded: LedgerHistory, replayed: LedgerHistory, holds: Mapping[int, int]) -> list[Difference]:
    """Every member's first difference, by the recorded transaction it names; then the
    refunds' and the coupons'. `holds`: recorded hold id -> the replayed one."""
    ours, theirs = _by_member(recorded.transactions), _by_member(replayed.transactions)
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
