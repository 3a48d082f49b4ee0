"""The books recomputed from the log alone: every member's balances (by commitment) and
every program's accounts, replayed entry by entry, with the ledger's invariants checked
after each one. An auditor needs nothing but the entries (entry.py) to run this.

The ledger's accounts (dangol.domain.accounts): a member has `available`, `pending` and
`held`; the program has `issued`, `adjusted`, `redeemed`, `expired` and `reversed`. Points
live in lots; a movement takes points from a lot (or gives them back, when negative).
A member's `debt` is a clawback the ledger allowed to overdraw them: a `reverse`
transaction that collects more than the lots gave (the REVERSED posting exceeds its
`reversed` movements) adds the difference, and later `reversed` movements on the
member's lots pay it back. After every transaction, for every member it touched:

    available + pending == sum of the remainders of the member's lots - debt
    held == the points the member's lots have moved into `held` and not back
    pending >= 0, held >= 0, debt >= 0, 0 <= a lot's remainder <= its amount

which ties what the postings say to what the lots say: an entry whose postings were
edited without its lots (or the other way round) breaks it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .entry import Entry, TransactionEntry

MEMBER_ACCOUNTS = frozenset({"available", "pending", "held"})
PROGRAM_ACCOUNTS = frozenset({"issued", "adjusted", "redeemed", "expired", "reversed"})
KINDS = frozenset({"earn", "release", "redeem", "hold", "capture", "void", "expire", "reverse", "adjust",
                   "transfer"})
MOVEMENT_KINDS = frozenset({"held", "redeemed", "expired", "reversed", "adjusted", "transferred"})


class BooksError(ValueError):
    """An entry that the books cannot follow: the log contradicts itself."""


@dataclass(slots=True)
class MemberBalance:
    available: int = 0
    pending: int = 0
    held: int = 0
    debt: int = 0
    lots_remaining: int = 0  # the sum of the remainders of the member's lots
    lots_held: int = 0  # points the member's lots moved into `held`, net


@dataclass(slots=True)
class Lot:
    owner: str
    amount: int
    remaining: int


@dataclass
class ProgramBooks:
    """One program: each member's balances, each account's net total, counts."""

    members: dict[str, MemberBalance] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        sorted(MEMBER_ACCOUNTS | PROGRAM_ACCOUNTS), 0))
    transactions: int = 0
    rulesets: int = 0
    lots: dict[int, Lot] = field(default_factory=dict)

    def outstanding(self) -> int:
        """What the program owes its members: the sum of the member accounts."""
        return sum(self.accounts[a] for a in MEMBER_ACCOUNTS)


class Books:
    def __init__(self) -> None:
        self.programs: dict[str, ProgramBooks] = {}

    def apply(self, entry: Entry) -> None:
        """Adds one entry; BooksError (and the books unusable) if it contradicts them."""
        books = self.programs.get(entry.program)
        if books is None:
            books = self.programs[entry.program] = ProgramBooks()
        if isinstance(entry, TransactionEntry):
            _apply_transaction(books, entry)
        else:
            books.rulesets += 1

    def member(self, program: str, commitment: str) -> MemberBalance | None:
        books = self.programs.get(program)
        return None if books is None else books.members.get(commitment)


def _apply_transaction(books: ProgramBooks, txn: TransactionEntry) -> None:
    if txn.kind not in KINDS:
        raise BooksError(f"transaction kind {txn.kind!r} is not one the ledger has")
    members = books.members
    touched: dict[str, MemberBalance] = {}
    reversed_total = 0
    receiver: str | None = None  # who the lots this transaction creates belong to
    for p in txn.postings:
        if p.account in MEMBER_ACCOUNTS:
            if p.member is None:
                raise BooksError(f"a posting to {p.account} names no member")
            balance = touched.get(p.member) or members.get(p.member) or MemberBalance()
            touched[p.member] = balance
            if p.account == "available":
                balance.available += p.amount
            elif p.account == "pending":
                balance.pending += p.amount
            else:
                balance.held += p.amount
            if p.amount > 0 and p.account != "held":
                if receiver not in (None, p.member):
                    raise BooksError("points go to more than one member")
                receiver = p.member
        elif p.account in PROGRAM_ACCOUNTS:
            if p.member is not None:
                raise BooksError(f"a posting to the program account {p.account} names a member")
            if p.account == "reversed":
                reversed_total += p.amount
        else:
            raise BooksError(f"account {p.account!r} is not one the ledger has")
        books.accounts[p.account] += p.amount
    if reversed_total:
        # A clawback: points collected from one member into `reversed`. What the lots do not
        # cover (see the movements below) is the member's new debt.
        if len(touched) != 1:
            raise BooksError("a clawback collects from exactly one member")
        next(iter(touched.values())).debt += reversed_total
    for lot in txn.lots:
        if receiver is None:
            raise BooksError(f"lot {lot.id} is created but no member receives points")
        if lot.id in books.lots:
            raise BooksError(f"lot {lot.id} is created twice")
        if lot.amount <= 0 or lot.expires_at <= lot.available_at:
            raise BooksError(f"lot {lot.id} has no points or expires before it is available")
        books.lots[lot.id] = Lot(receiver, lot.amount, lot.amount)
        touched[receiver].lots_remaining += lot.amount
    for m in txn.movements:
        if m.kind not in MOVEMENT_KINDS:
            raise BooksError(f"movement kind {m.kind!r} is not one the ledger has")
        lot_ = books.lots.get(m.lot)
        if lot_ is None:
            raise BooksError(f"a movement takes from lot {m.lot}, which no earlier entry created")
        owner = touched.get(lot_.owner)
        if owner is None:
            raise BooksError(f"a movement takes from lot {m.lot} of a member the postings do not touch")
        lot_.remaining -= m.amount
        if not 0 <= lot_.remaining <= lot_.amount:
            raise BooksError(f"lot {m.lot} would hold {lot_.remaining} of its {lot_.amount} points")
        owner.lots_remaining -= m.amount
        if m.kind == "held":
            owner.lots_held += m.amount
        elif m.kind == "reversed":
            owner.debt -= m.amount
    for commitment, b in touched.items():
        if b.pending < 0 or b.held < 0 or b.debt < 0:
            raise BooksError(f"member {commitment[:12]}… would have pending {b.pending}, held {b.held}, "
                             f"debt {b.debt}")
        if b.available + b.pending != b.lots_remaining - b.debt:
            raise BooksError(f"member {commitment[:12]}…: available + pending = {b.available + b.pending}, "
                             f"but the lots hold {b.lots_remaining} and the debt is {b.debt}")
        if b.held != b.lots_held:
            raise BooksError(f"member {commitment[:12]}…: held = {b.held}, but the lots moved {b.lots_held} "
                             f"into held")
        members[commitment] = b
    books.transactions += 1
