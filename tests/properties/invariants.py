"""The ledger's invariants, checked on a plain snapshot of its state so that the same
checks run on a database (after operations through the service) and on `MemberLedger`s
in memory (pure domain property tests)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from dangol.domain import HoldStatus, MemberLedger
from dangol.storage import tables as t


@dataclass(frozen=True)
class LotRow:
    id: int
    member_id: str
    source: str
    amount: int
    remaining: int
    released: bool


@dataclass
class LedgerSnapshot:
    allow_negative: bool
    postings: list[tuple[int, str, str | None, int]] = field(default_factory=list)  # txn, account, member, amount
    lots: list[LotRow] = field(default_factory=list)
    movements: list[tuple[int, str, int]] = field(default_factory=list)  # lot, kind, amount
    cached: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)  # available, pending, held, debt
    active_holds: dict[str, int] = field(default_factory=dict)  # member -> points held by active holds


def snapshot_from_db(conn: Connection, program_id: str) -> LedgerSnapshot:
    allow_negative = conn.execute(select(t.programs.c.allow_negative_balance)
                                  .where(t.programs.c.id == program_id)).scalar_one()
    snap = LedgerSnapshot(bool(allow_negative))
    p = t.postings
    snap.postings = [(txn, account, member, int(amount)) for txn, account, member, amount in conn.execute(
        select(p.c.transaction_id, p.c.account, p.c.member_id, p.c.amount).where(p.c.program_id == program_id))]
    lots = t.lots
    snap.lots = [LotRow(r.id, r.member_id, r.source, int(r.amount), int(r.remaining), bool(r.released))
                 for r in conn.execute(select(lots).where(lots.c.program_id == program_id))]
    mv = t.lot_movements
    snap.movements = [(lot_id, kind, int(amount)) for lot_id, kind, amount in conn.execute(
        select(mv.c.lot_id, mv.c.kind, mv.c.amount).join(lots, lots.c.id == mv.c.lot_id)
        .where(lots.c.program_id == program_id))]
    m = t.members
    snap.cached = {r.id: (int(r.available), int(r.pending), int(r.held), int(r.debt))
                   for r in conn.execute(select(m).where(m.c.program_id == program_id))}
    h = t.holds
    for member_id, amount in conn.execute(select(h.c.member_id, h.c.amount).where(
            h.c.program_id == program_id, h.c.status == HoldStatus.ACTIVE.value)):
        snap.active_holds[member_id] = snap.active_holds.get(member_id, 0) + int(amount)
    # Transactions whose postings are missing altogether would not show up above.
    txns = {txn_id for (txn_id,) in conn.execute(
        select(t.transactions.c.id).where(t.transactions.c.program_id == program_id))}
    assert txns == {txn for txn, *_ in snap.postings}, "every transaction has postings and vice versa"
    return snap


def snapshot_from_ledgers(ledgers: Iterable[MemberLedger]) -> LedgerSnapshot:
    ledgers = list(ledgers)
    snap = LedgerSnapshot(ledgers[0].program.policy.allow_negative_balance)
    for ledger in ledgers:
        rec = ledger.recorded
        for txn in rec.transactions:
            snap.postings += [(txn.id, p.account.value, p.member_id, p.amount) for p in txn.postings]
        snap.movements += [(m.lot_id, m.kind.value, m.amount) for m in rec.movements]
        snap.lots += [LotRow(lot.id, lot.member_id, lot.source.value, lot.amount, lot.remaining, lot.released)
                      for lot in ledger.lots.values()]
        b = ledger.balances
        snap.cached[ledger.member.id] = (b.available, b.pending, b.held, b.debt)
        snap.active_holds[ledger.member.id] = sum(
            h.amount for h in ledger.holds.values() if h.status is HoldStatus.ACTIVE)
    return snap


def assert_invariants(snap: LedgerSnapshot) -> None:
    by_txn: dict[int, int] = defaultdict(int)
    accounts: dict[str, int] = defaultdict(int)
    member_accounts: dict[tuple[str, str], int] = defaultdict(int)
    adjusted_in = adjusted_out = 0
    for txn, account, member, amount in snap.postings:
        by_txn[txn] += amount
        accounts[account] += amount
        if member is not None:
            member_accounts[member, account] += amount
        if account == "adjusted":
            if amount < 0:
                adjusted_in -= amount  # an operator credit: points come from the adjusted account
            else:
                adjusted_out += amount
    unbalanced = {txn: total for txn, total in by_txn.items() if total}
    assert not unbalanced, f"transactions whose postings do not sum to zero: {unbalanced}"
    assert sum(accounts.values()) == 0, f"accounts do not sum to zero: {dict(accounts)}"

    moved: dict[int, int] = defaultdict(int)
    moved_by_kind: dict[str, int] = defaultdict(int)
    for lot_id, kind, amount in snap.movements:
        moved[lot_id] += amount
        moved_by_kind[kind] += amount
    released: dict[str, int] = defaultdict(int)
    pending: dict[str, int] = defaultdict(int)
    for lot in snap.lots:
        assert 0 <= lot.remaining <= lot.amount, f"lot {lot.id}: remaining {lot.remaining} of {lot.amount}"
        assert lot.amount == lot.remaining + moved[lot.id], \
            f"lot {lot.id}: amount {lot.amount} != remaining {lot.remaining} + movements {moved[lot.id]}"
        (released if lot.released else pending)[lot.member_id] += lot.remaining

    total_debt = 0
    for member_id, (available, pend, held, debt) in snap.cached.items():
        from_postings = tuple(member_accounts[member_id, a] for a in ("available", "pending", "held"))
        assert (available, pend, held) == from_postings, \
            f"member {member_id}: cached {(available, pend, held)} != postings {from_postings}"
        assert debt >= 0, f"member {member_id}: negative debt {debt}"
        if not snap.allow_negative:
            assert debt == 0 and available >= 0, f"member {member_id}: overdrawn to {available} (debt {debt})"
        elif debt:
            assert available == -debt, f"member {member_id}: owes {debt} but available is {available}"
        assert available >= -debt, f"member {member_id}: available {available} below -debt {debt}"
        assert released[member_id] - debt == available, \
            f"member {member_id}: available lots {released[member_id]} - debt {debt} != available {available}"
        assert pending[member_id] == pend, f"member {member_id}: pending lots {pending[member_id]} != {pend}"
        assert snap.active_holds.get(member_id, 0) == held, \
            f"member {member_id}: active holds {snap.active_holds.get(member_id, 0)} != held {held}"
        total_debt += debt

    # Every point ever issued is in exactly one state, by the accounts ...
    issued = -accounts["issued"] + adjusted_in
    states = {"available": accounts["available"], "pending": accounts["pending"], "held": accounts["held"],
              "redeemed": accounts["redeemed"], "expired": accounts["expired"], "reversed": accounts["reversed"],
              "adjusted-out": adjusted_out}
    assert issued == sum(states.values()), f"issued {issued} != {states}"
    assert all(v >= 0 for k, v in states.items() if k != "available"), states
    # ... and by the lots they live in: points credited to members as earn/adjust lots
    # are what was issued, and what left the lots went where the accounts say it went.
    credited = sum(lot.amount for lot in snap.lots if lot.source in ("earn", "adjust"))
    assert credited == issued, f"lots credited {credited} != issued {issued}"
    transferred_in = sum(lot.amount for lot in snap.lots if lot.source == "transfer")
    assert moved_by_kind["transferred"] == transferred_in
    assert moved_by_kind["redeemed"] == accounts["redeemed"]
    assert moved_by_kind["expired"] == accounts["expired"]
    assert moved_by_kind["held"] == accounts["held"]
    assert moved_by_kind["adjusted"] == adjusted_out
    # A clawback that overdrew a member is reversed at once; the lots pay it back later.
    assert moved_by_kind["reversed"] + total_debt == accounts["reversed"]


def stored_rows(conn: Connection, program_id: str) -> dict[str, list[tuple]]:
    """Every row the ledger keeps for a program, to tell whether anything changed."""
    rows: dict[str, list[tuple]] = {}
    for table in (t.members, t.transactions, t.postings, t.lots, t.holds, t.refunds):
        query = select(table).where(table.c.program_id == program_id).order_by(*table.primary_key.columns)
        rows[table.name] = [tuple(row) for row in conn.execute(query)]
    keys = t.idempotency_keys
    rows["idempotency_keys"] = [tuple(row) for row in conn.execute(
        select(keys).where(keys.c.scope == program_id).order_by(keys.c.key))]
    mv = t.lot_movements
    rows["lot_movements"] = [tuple(row) for row in conn.execute(
        select(mv).join(t.lots, t.lots.c.id == mv.c.lot_id).where(t.lots.c.program_id == program_id)
        .order_by(mv.c.id))]
    return rows


def row_counts(conn: Connection, program_id: str) -> dict[str, int]:
    return {name: len(rows) for name, rows in stored_rows(conn, program_id).items()}
