"""A program's public report, computed from log entries only, so that anyone holding a
mirror of the log up to the same size gets the same figures (`dangol verify report`).

Per calendar month of `occurred_at` (UTC), from the program accounts' postings:

- issued: points earned (out of `issued`);
- adjusted: points an operator added (+) or removed (-), net (out of `adjusted`);
- redeemed, expired, reversed (clawed back on refunds): points that left members;
- outstanding: what the program owes its members at the end of the month (its points
  liability), the running sum of the above:
  outstanding = previous + issued + adjusted - redeemed - expired - reversed.

Transactions are counted in the month they happened in, whatever the order in which the
log received them (an import of history can add to a past month)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from .entry import Entry, TransactionEntry

FLOWS = ("issued", "adjusted", "redeemed", "expired", "reversed")
_SIGN = {"issued": -1, "adjusted": -1, "redeemed": 1, "expired": 1, "reversed": 1}  # as members see it


@dataclass(frozen=True, slots=True)
class Figures:
    period: str  # "2026-01", or "total"
    transactions: int
    issued: int
    adjusted: int
    redeemed: int
    expired: int
    reversed: int
    outstanding: int


@dataclass(frozen=True, slots=True)
class ProgramReport:
    program: str
    size: int  # the log size (number of entries) the report covers
    periods: tuple[Figures, ...]
    total: Figures

    def to_json(self) -> dict[str, object]:
        return {"program": self.program, "size": self.size, "period": "month",
                "periods": [asdict(f) for f in self.periods], "total": asdict(self.total)}


class ReportBuilder:
    """A program's report, entry by entry: what a server keeps between requests, so that
    a report of a larger log only reads the entries added since."""

    def __init__(self, program: str) -> None:
        self.program = program
        self._months: dict[str, list[int]] = {}  # month -> [transactions, *FLOWS]

    def add(self, entry: Entry) -> None:
        if not isinstance(entry, TransactionEntry) or entry.program != self.program:
            return
        at = entry.occurred_at
        row = self._months.setdefault(f"{at.year:04d}-{at.month:02d}", [0] * (1 + len(FLOWS)))
        row[0] += 1
        for p in entry.postings:
            sign = _SIGN.get(p.account)
            if sign is not None:
                row[1 + FLOWS.index(p.account)] += sign * p.amount

    def report(self, size: int) -> ProgramReport:
        periods = []
        outstanding = 0
        for month in sorted(self._months):
            count, issued, adjusted, redeemed, expired, reversed_ = self._months[month]
            outstanding += issued + adjusted - redeemed - expired - reversed_
            periods.append(Figures(month, count, issued, adjusted, redeemed, expired, reversed_, outstanding))
        rows = self._months.values()
        transactions, issued, adjusted, redeemed, expired, reversed_ = (
            sum(row[column] for row in rows) for column in range(1 + len(FLOWS)))
        total = Figures("total", transactions, issued, adjusted, redeemed, expired, reversed_, outstanding)
        return ProgramReport(self.program, size, tuple(periods), total)


def program_report(entries: Iterable[Entry], program: str, size: int) -> ProgramReport:
    """The report of `program` over `entries` (the first `size` entries of the log)."""
    builder = ReportBuilder(program)
    for entry in entries:
        builder.add(entry)
    return builder.report(size)
