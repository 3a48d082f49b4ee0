"""The public program report, worked by hand: flows per month of occurrence and the
liability carried from month to month, other programs and rulesets left out."""

from __future__ import annotations

from datetime import datetime, timezone

from dangol.transparency.entry import PostingEntry, RulesetEntry, TransactionEntry
from dangol.transparency.report import program_report

M = "a" * 64


def txn(month: int, kind: str, *postings: tuple[str, int], program: str = "market") -> TransactionEntry:
    at = datetime(2026, month, 15, 12, tzinfo=timezone.utc)
    return TransactionEntry(program, month * 100, kind, at,
                            tuple(PostingEntry(a, n, M if a in ("available", "pending", "held") else None)
                                  for a, n in postings))


ENTRIES = [
    txn(1, "earn", ("issued", -1000), ("available", 1000)),
    txn(1, "redeem", ("available", -300), ("redeemed", 300)),
    txn(1, "hold", ("available", -200), ("held", 200)),  # still owed to the member: no flow
    txn(1, "earn", ("issued", -99), ("available", 99), program="other"),
    RulesetEntry("market", "sha256:00", 1, datetime(2026, 1, 1, tzinfo=timezone.utc),
                 datetime(2026, 1, 1, tzinfo=timezone.utc), False, {}),
    txn(3, "adjust", ("adjusted", -20), ("available", 20)),
    # Logged after March's entries but it happened in February (a late import).
    txn(2, "expire", ("expired", 100), ("available", -100)),
    txn(2, "reverse", ("available", -50), ("reversed", 50)),
]


def test_the_report_by_month_and_in_total() -> None:
    report = program_report(ENTRIES, "market", size=len(ENTRIES))
    rows = [(f.period, f.transactions, f.issued, f.adjusted, f.redeemed, f.expired, f.reversed, f.outstanding)
            for f in report.periods]
    assert rows == [
        ("2026-01", 3, 1000, 0, 300, 0, 0, 700),
        ("2026-02", 2, 0, 0, 0, 100, 50, 550),
        ("2026-03", 1, 0, 20, 0, 0, 0, 570),
    ]
    total = report.total
    assert (total.transactions, total.issued, total.adjusted, total.redeemed, total.expired, total.reversed,
            total.outstanding) == (6, 1000, 20, 300, 100, 50, 570)
    assert report.to_json()["total"]["outstanding"] == 570 and report.to_json()["size"] == 8


def test_a_program_with_no_entries_owes_nothing() -> None:
    report = program_report(ENTRIES, "nobody", size=8)
    assert report.periods == () and report.total.outstanding == 0 and report.total.transactions == 0
