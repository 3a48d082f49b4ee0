"""`LedgerCheck` recomputes every balance from postings and lots: it passes on honest
books and reports each number someone changed behind the ledger's back."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import delete, update

from dangol.domain import Money
from dangol.domain.commands import Earn, PlaceHold, Redeem, Reverse
from dangol.service.container import Services
from dangol.storage import tables as t


@pytest.fixture
def books(services: Services, program_id: str, enroll: Callable[..., str]) -> str:
    member = enroll("alice")
    services.ledger.run(program_id, Earn(member, money=Money(40_000, "KRW"), order_ref="o-1"))  # 2,000
    services.ledger.run(program_id, Earn(member, points=1_500))
    services.ledger.run(program_id, Redeem(member, 1_000))
    services.ledger.run(program_id, PlaceHold(member, 1_000))
    services.ledger.run(program_id, Reverse(member, "o-1", Money(10_000, "KRW")))
    report = services.check.run()
    assert report.ok, report.mismatches
    assert (report.members, report.lots) == (1, 2) and report.transactions == 5
    return member


def mismatches(services: Services) -> set[tuple[str, str]]:
    report = services.check.run()
    assert not report.ok
    return {(m.subject.split(" ")[0], m.what) for m in report.mismatches}


def test_a_tampered_cached_balance_is_reported(services: Services, books: str) -> None:
    with services.db.write() as conn:
        conn.execute(update(t.members).where(t.members.c.id == books).values(available=t.members.c.available + 1))
    [mismatch] = services.check.run().mismatches
    assert (mismatch.subject, mismatch.what) == (f"member {books}", "cached available balance")
    assert mismatch.actual == mismatch.expected + 1
    assert str(mismatch) == f"member {books}: cached available balance is {mismatch.actual}, expected {mismatch.expected}"


def test_a_tampered_lot_is_reported(services: Services, books: str) -> None:
    with services.db.write() as conn:
        conn.execute(update(t.lots).where(t.lots.c.member_id == books, t.lots.c.remaining > 0)
                     .values(remaining=t.lots.c.remaining - 1))
    assert mismatches(services) == {("lot", "remaining plus movements"), ("member", "available lots minus debt")}


def test_a_tampered_posting_is_reported(services: Services, books: str) -> None:
    with services.db.write() as conn:
        conn.execute(update(t.postings).where(t.postings.c.account == "redeemed").values(amount=t.postings.c.amount + 5))
    assert mismatches(services) == {("transaction", "sum of postings"), ("program", "sum of all accounts")}


def test_a_deleted_posting_is_reported(services: Services, books: str) -> None:
    with services.db.write() as conn:
        conn.execute(delete(t.postings).where(t.postings.c.account == "held"))
    found = mismatches(services)
    assert ("transaction", "sum of postings") in found and ("member", "cached held balance") in found


def test_a_hold_released_behind_the_ledgers_back_is_reported(services: Services, books: str) -> None:
    with services.db.write() as conn:
        conn.execute(update(t.holds).values(status="voided"))
    assert mismatches(services) == {("member", "active holds")}
