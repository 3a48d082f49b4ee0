"""Reads: balances as of now (with what expires soon), lots and history in cursor pages,
and the program boundary that every call respects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from dangol.domain import EarnRate, FixedClock, Money, ProgramPolicy
from dangol.domain.commands import Adjust, CaptureHold, Earn, PlaceHold, Redeem, Reverse, Transfer
from dangol.domain.errors import InvalidRequest, ProgramMismatch, UnknownMember, UnknownProgram
from dangol.service.container import Services


def test_balance_shows_available_pending_held_and_what_expires_soon(
        services: Services, clock: FixedClock, program_id: str, enroll: Callable[..., str]) -> None:
    member = enroll("alice")
    start = clock.now()
    services.ledger.run(program_id, Earn(member, points=1_000, expires_at=start + timedelta(days=20)))
    services.ledger.run(program_id, Earn(member, points=700, expires_at=start + timedelta(days=29)))
    services.ledger.run(program_id, Earn(member, points=3_000))  # a year
    services.ledger.run(program_id, Earn(member, points=500, available_at=start + timedelta(days=14)))
    services.ledger.run(program_id, PlaceHold(member, 1_200))  # draws the 1,000 and 200 of the 700
    balance = services.reader.balance(program_id, member)
    assert (balance["available"], balance["pending"], balance["held"], balance["debt"]) == (3_500, 500, 1_200, 0)
    assert balance["expiring_soon"] == {"within_days": 30, "points": 500,
                                        "next_expiry": (start + timedelta(days=29)).isoformat().replace("+00:00", "Z")}


def test_balance_counts_what_is_due_as_done_without_writing_it(
        services: Services, clock: FixedClock, program_id: str, enroll: Callable[..., str]) -> None:
    member = enroll("alice")
    services.ledger.run(program_id, Earn(member, points=1_000))
    services.ledger.run(program_id, Earn(member, points=400, available_at=clock.now() + timedelta(days=14)))
    clock.advance(days=365)
    balance = services.reader.balance(program_id, member)
    assert (balance["available"], balance["pending"]) == (400, 0)
    with services.db.read() as conn:
        cached = conn.exec_driver_sql("SELECT available, pending FROM members WHERE id = ?" if services.db.is_sqlite
                                      else "SELECT available, pending FROM members WHERE id = %s", (member,)).one()
    assert tuple(cached) == (1_000, 400)  # a read is a read


def build_history(services: Services, program_id: str, member: str, friend: str) -> None:
    services.ledger.run(program_id, Earn(member, money=Money(100_000, "KRW"), order_ref="o-1"))  # 5,000
    for i in range(12):
        services.ledger.run(program_id, Earn(member, points=100 + i))
    services.ledger.run(program_id, Redeem(member, 1_000))
    services.ledger.run(program_id, Adjust(member, -50, reason="typo"))
    hold = services.ledger.run(program_id, PlaceHold(member, 1_000))["hold"]["id"]
    services.ledger.run(program_id, CaptureHold(hold, 800))
    services.ledger.run(program_id, Reverse(member, "o-1", Money(10_000, "KRW")))
    services.ledger.run(program_id, Earn(friend, points=2_000))
    services.ledger.run(program_id, Transfer(friend, member, 1_500, reason="gift"))


def read_all_pages(services: Services, program_id: str, member: str,
                   limit: int) -> tuple[list[dict], list[list[dict]]]:
    items: list[dict] = []
    pages: list[list[dict]] = []
    cursor = None
    while True:
        page = services.reader.history(program_id, member, cursor=cursor, limit=limit)
        items += page.items
        pages.append(page.items)
        if page.next_cursor is None:
            return items, pages
        cursor = page.next_cursor


def test_history_pages_newest_first_and_cover_every_transaction_once(
        services: Services, program_id: str, enroll: Callable[..., str]) -> None:
    services.programs.create_program("gifting", "Gifting", "KRW",
                                     ProgramPolicy(earn_rate=EarnRate(5, 100), allow_transfers=True))
    program_id = "gifting"
    member, friend = enroll("alice", program_id), enroll("bob", program_id)
    build_history(services, program_id, member, friend)
    with services.db.read() as conn:
        expected = [row[0] for row in conn.exec_driver_sql(
            f"SELECT id FROM transactions WHERE member_id = '{member}' OR counterparty_id = '{member}' "
            "ORDER BY id DESC")]
    assert len(expected) == 19
    for limit in (1, 4, 19, 200):
        seen, pages = read_all_pages(services, program_id, member, limit)
        assert [item["id"] for item in seen] == expected, limit  # newest first, each exactly once
        assert len(pages) == -(-19 // limit) and all(len(page) == limit for page in pages[:-1])
    newest, refund = services.reader.history(program_id, member, limit=2).items
    assert (newest["kind"], newest["change"], newest["counterparty_id"], newest["reason"]) == (
        "transfer", 1_500, member, "gift")
    assert (refund["kind"], refund["change"], refund["money"]) == (
        "reverse", -500, {"amount": 10_000, "currency": "KRW"})
    assert sum(p["amount"] for p in refund["postings"]) == 0


def test_lots_in_pages(services: Services, program_id: str, enroll: Callable[..., str]) -> None:
    member = enroll("alice")
    for points in (1_000, 200, 300, 400, 500):
        services.ledger.run(program_id, Earn(member, points=points))
    services.ledger.run(program_id, Redeem(member, 1_000))  # empties the first lot
    first = services.reader.lots(program_id, member, limit=3)
    assert [lot["amount"] for lot in first.items] == [200, 300, 400] and first.next_cursor
    rest = services.reader.lots(program_id, member, cursor=first.next_cursor, limit=3)
    assert [lot["amount"] for lot in rest.items] == [500] and rest.next_cursor is None
    everything = services.reader.lots(program_id, member, include_spent=True, limit=50)
    assert [(lot["amount"], lot["remaining"]) for lot in everything.items][0] == (1_000, 0)
    assert len(everything.items) == 5


@pytest.mark.parametrize(("cursor", "limit"), [("abc", 10), ("-1", 10), ("1" * 19, 10), (None, 0), (None, 201)])
def test_bad_cursors_and_limits_are_refused(services: Services, program_id: str, enroll: Callable[..., str],
                                            cursor: str | None, limit: int) -> None:
    member = enroll("alice")
    with pytest.raises(InvalidRequest):
        services.reader.history(program_id, member, cursor=cursor, limit=limit)
    with pytest.raises(InvalidRequest):
        services.reader.lots(program_id, member, cursor=cursor, limit=limit)


def test_a_member_of_one_program_cannot_be_used_through_another(
        services: Services, program_id: str, enroll: Callable[..., str]) -> None:
    services.programs.create_program("other", "Other brand", "KRW", ProgramPolicy(allow_transfers=True))
    alice = enroll("alice")
    bob = enroll("bob", "other")
    services.ledger.run(program_id, Earn(alice, points=5_000))
    hold = services.ledger.run(program_id, PlaceHold(alice, 1_000))["hold"]["id"]
    services.ledger.run("other", Earn(bob, points=5_000))
    for command in (Earn(alice, points=100), Redeem(alice, 1_000), CaptureHold(hold)):
        with pytest.raises(ProgramMismatch) as refused:
            services.ledger.run("other", command)
        assert refused.value.code == "program-mismatch"
    with pytest.raises(ProgramMismatch):
        services.ledger.run("other", Transfer(bob, alice, 100))
    for read in (services.reader.member, services.reader.balance, services.reader.history, services.reader.lots):
        with pytest.raises(ProgramMismatch):
            read("other", alice)  # type: ignore[operator]
    with pytest.raises(UnknownMember):
        services.reader.balance(program_id, "m_nobody")
    with pytest.raises(UnknownProgram):
        services.ledger.run("no-such-program", Earn(alice, points=1))
    assert services.reader.balance(program_id, alice)["available"] == 4_000
    assert services.reader.balance("other", bob)["available"] == 5_000
    assert services.reader.hold(program_id, hold)["status"] == "active"
