"""TierSession on SQLite and PostgreSQL: a transaction's tier work in memory, as a batch of
events does it while its ledger writes wait for the end of the batch. The example ladder
(market.yaml): 새싹 0, 열매 300,000, 나무 600,000, 숲 1,000,000 KRW per calendar quarter in
Asia/Seoul, 14 days of grace."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Connection, func, select

from dangol.domain import FixedClock, Money
from dangol.domain.commands import Earn, Enroll
from dangol.rules.loader import load_example
from dangol.service.container import Services
from dangol.service.tiers import TierSession
from dangol.storage import tables
from dangol.storage.tier_repository import activity_of
from dangol.tiers import Activity

from conftest import statements

KST = timezone(timedelta(hours=9))
LADDER = load_example().tiers


def kst(month: int, day: int) -> datetime:
    return datetime(2025, month, day, tzinfo=KST)


def purchase(at: datetime, amount: int) -> Activity:
    return activity_of("earn", at, amount // 20, amount)  # 5% in points, as the example earns


def refund(at: datetime, amount: int) -> Activity:
    return activity_of("reverse", at, amount // 20, amount)


@pytest.fixture
def market(services: Services, program_id: str, clock: FixedClock) -> Services:
    services.tiers.use_ladder(program_id, LADDER)
    clock.set(kst(3, 1))
    return services


def enroll(services: Services, name: str) -> str:
    return str(services.ledger.run("market", Enroll(name))["member"]["id"])


def moves(changes: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(c["member_id"], c["from"], c["to"], c["reason"], c["metric"]["value"])  # type: ignore[index]
            for c in changes]


def reading(seen: list[str], table: str) -> list[str]:
    return [s for s in seen if re.search(rf"\bFROM {table}\b", s)]


def stored(conn: Connection) -> tuple[dict[str, str], list[tuple[str, str, str, str]]]:
    """The standings' tiers and the history (member, from, to, reason), in the transaction."""
    tiers = {m: tier for m, tier in conn.execute(select(tables.member_tiers.c.member_id, tables.member_tiers.c.tier))}
    th = tables.tier_history
    history = [tuple(row) for row in conn.execute(select(th.c.member_id, th.c.from_tier, th.c.to_tier, th.c.reason)
                                                  .order_by(th.c.id))]
    return tiers, history  # type: ignore[return-value]


def test_noted_activity_counts_before_anything_is_in_the_database(market: Services) -> None:
    alice = enroll(market, "alice")
    with market.db.write() as conn:
        session = TierSession(market.tiers, conn, "market", write=True)
        session.preload(LADDER, [alice], kst(5, 2), kst(5, 20))
        session.note(alice, purchase(kst(5, 2), 350_000))  # the ledger has no such earn
        assert moves(session.advance(LADDER, [alice], kst(5, 2))) == [(alice, "새싹", "열매", "upgrade", 350_000)]
        assert session.tier_of(LADDER, alice, kst(5, 3)) == "열매"
        session.note(alice, purchase(kst(5, 20), 300_000))
        assert moves(session.advance(LADDER, [alice], kst(5, 20))) == [(alice, "열매", "나무", "upgrade", 650_000)]
        assert session.tier_of(LADDER, alice, kst(5, 21)) == "나무"
        assert stored(conn) == ({}, [])  # all of it in memory until the flush
        session.flush()
        assert stored(conn) == ({alice: "나무"}, [(alice, "새싹", "열매", "upgrade"), (alice, "열매", "나무", "upgrade")])
    with market.db.read() as conn:  # the rules see it in the next transaction
        assert market.tiers.member_tiers(conn, "market", [alice], kst(6, 1)) == {alice: "나무"}


def test_the_tier_after_a_window_counts_noted_activity(market: Services, clock: FixedClock) -> None:
    # 350,000 in Q2 (in the ledger): 열매, reviewed at Q2's end. On 20 July (after the 14 days
    # of grace) the rules see 열매 kept; with a 100,000 refund of 10 May noted (not in the
    # ledger), Q2 is 250,000: 열매 ended with the grace, on 15 July.
    alice = enroll(market, "alice")
    clock.set(kst(5, 2))
    market.ledger.run("market", Earn(alice, money=Money(350_000, "KRW"), order_ref="o1"))
    with market.db.write() as conn:
        market.tiers.after_activity(conn, "market", [alice], clock.now())
    with market.db.write() as conn:
        assert TierSession(market.tiers, conn, "market", write=True).tier_of(LADDER, alice, kst(7, 20)) == "열매"
        session = TierSession(market.tiers, conn, "market", write=True)
        session.note(alice, refund(kst(5, 10), 100_000))
        assert session.tier_of(LADDER, alice, kst(7, 10)) == "열매"  # still in the grace
        assert session.tier_of(LADDER, alice, kst(7, 20)) == "새싹"
        assert moves(session.advance(LADDER, [alice], kst(7, 20))) == [
            (alice, "열매", "열매", "grace", 250_000), (alice, "열매", "새싹", "downgrade", 250_000)]


def test_activity_after_the_instant_is_not_counted_whatever_the_order(market: Services, clock: FixedClock) -> None:
    # In the ledger: erin's 650,000 on 10 December 2024, bob's on 20 May, carol's on 25 May.
    # Noted: alice's 200,000 on 20 May, then her 150,000 on 10 May (a batch need not be in
    # time order).
    clock.set(datetime(2024, 12, 1, tzinfo=KST))
    erin = enroll(market, "erin")
    clock.set(datetime(2024, 12, 10, tzinfo=KST))
    market.ledger.run("market", Earn(erin, money=Money(650_000, "KRW"), order_ref="o1"))
    alice, bob, carol = enroll(market, "alice"), enroll(market, "bob"), enroll(market, "carol")
    clock.set(kst(5, 20))
    market.ledger.run("market", Earn(bob, money=Money(650_000, "KRW"), order_ref="o1"))
    clock.set(kst(5, 25))
    market.ledger.run("market", Earn(carol, money=Money(650_000, "KRW"), order_ref="o1"))
    with market.db.write() as conn:
        session = TierSession(market.tiers, conn, "market", write=True)
        session.preload(LADDER, [alice, bob, carol, erin], kst(5, 10), kst(5, 20))  # bob's 650,000 is read here
        assert session.advance(LADDER, [bob], kst(5, 10)) == []
        assert session.tier_of(LADDER, bob, kst(5, 10)) == "새싹"
        session.note(alice, purchase(kst(5, 20), 200_000))
        assert session.advance(LADDER, [alice], kst(5, 20)) == []
        session.note(alice, purchase(kst(5, 10), 150_000))
        assert session.advance(LADDER, [alice], kst(5, 10)) == []  # 150,000 by then
        assert session.advance(LADDER, [alice], kst(3, 20)) == []  # Q1 needs Q4 2024, not preloaded: read then
        assert moves(session.advance(LADDER, [alice, bob], kst(5, 21))) == [
            (alice, "새싹", "열매", "upgrade", 350_000), (bob, "새싹", "나무", "upgrade", 650_000)]
        # Before the preloaded span: Q4 2024 decides the tier held through Q1, read then.
        assert moves(session.advance(LADDER, [erin], kst(3, 20))) == [(erin, "새싹", "나무", "upgrade", 650_000)]
        # After the preloaded span: what the ledger holds since is read then.
        assert session.advance(LADDER, [carol], kst(5, 20)) == []
        assert moves(session.advance(LADDER, [carol], kst(5, 26))) == [(carol, "새싹", "나무", "upgrade", 650_000)]


def test_a_preloaded_batch_reads_nothing_more_and_writes_once(market: Services, clock: FixedClock) -> None:
    # carol already holds 열매 (a stored standing: updated); dave has none (inserted).
    carol, dave = enroll(market, "carol"), enroll(market, "dave")
    clock.set(kst(4, 5))
    market.ledger.run("market", Earn(carol, money=Money(300_000, "KRW"), order_ref="o1"))
    with market.db.write() as conn:
        market.tiers.after_activity(conn, "market", [carol], clock.now())
    with market.db.write() as conn:
        session = TierSession(market.tiers, conn, "market", write=True)
        with statements(market.db) as preloading:
            session.preload(LADDER, [carol, dave], kst(5, 1), kst(5, 31))
        assert (len(reading(preloading, "member_tiers")), len(reading(preloading, "transactions"))) == (1, 1)
        with statements(market.db) as judging:
            for day, member, amount in [(3, carol, 350_000), (9, dave, 400_000), (12, carol, 400_000)]:
                session.tier_of(LADDER, member, kst(5, day))
                session.note(member, purchase(kst(5, day), amount))
                session.advance(LADDER, [member], kst(5, day))
        assert judging == []
        before = stored(conn)
        session.flush()
        tiers, history = stored(conn)
        assert tiers == {carol: "숲", dave: "열매"}
        assert history[len(before[1]):] == [(carol, "열매", "나무", "upgrade"), (dave, "새싹", "열매", "upgrade"),
                                            (carol, "나무", "숲", "upgrade")]
        with statements(market.db) as again:
            session.flush()
        assert again == [] and stored(conn) == (tiers, history)
        # What the session keeps after a flush is what the database holds: a further change
        # updates dave's new row rather than inserting it twice.
        session.note(dave, purchase(kst(5, 20), 300_000))
        assert moves(session.advance(LADDER, [dave], kst(5, 20))) == [(dave, "열매", "나무", "upgrade", 700_000)]
        session.flush()
        assert stored(conn) == ({carol: "숲", dave: "나무"}, [*history, (dave, "열매", "나무", "upgrade")])


def test_members_not_preloaded_are_read_on_first_use(market: Services, clock: FixedClock) -> None:
    alice = enroll(market, "alice")
    clock.set(kst(5, 2))
    market.ledger.run("market", Earn(alice, money=Money(650_000, "KRW"), order_ref="o1"))
    with market.db.write() as conn:
        session = TierSession(market.tiers, conn, "market", write=True)
        with statements(market.db) as first:
            assert session.tier_of(LADDER, alice, kst(5, 2)) == "새싹"  # never advanced: no standing yet
            assert moves(session.advance(LADDER, [alice], kst(5, 2))) == [(alice, "새싹", "나무", "upgrade", 650_000)]
        assert (len(reading(first, "member_tiers")), len(reading(first, "transactions"))) == (1, 1)
        with statements(market.db) as again:
            assert session.tier_of(LADDER, alice, kst(5, 2)) == "나무"
            assert session.advance(LADDER, [alice], kst(5, 2)) == []
        assert again == []
        session.flush()
        assert stored(conn) == ({alice: "나무"}, [(alice, "새싹", "나무", "upgrade")])


def test_a_quote_writes_nothing_and_keeps_nothing(market: Services, clock: FixedClock) -> None:
    alice = enroll(market, "alice")
    clock.set(kst(5, 2))
    market.ledger.run("market", Earn(alice, money=Money(350_000, "KRW"), order_ref="o1"))
    with market.db.read() as conn:
        session = TierSession(market.tiers, conn, "market", write=False)
        quoted = {alice: [purchase(kst(5, 3), 300_000)]}
        assert moves(session.advance(LADDER, [alice], kst(5, 3), quoted)) == [
            (alice, "새싹", "열매", "upgrade", 350_000), (alice, "열매", "나무", "upgrade", 650_000)]
        assert moves(session.advance(LADDER, [alice], kst(5, 3))) == [(alice, "새싹", "열매", "upgrade", 350_000)]
        assert session.tier_of(LADDER, alice, kst(5, 3)) == "새싹"
        session.flush()
        assert stored(conn) == ({}, [])
    with market.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(tables.member_tiers)).scalar_one() == 0
    with market.db.write() as conn, pytest.raises(ValueError, match="quote"):
        TierSession(market.tiers, conn, "market", write=True).advance(LADDER, [alice], kst(5, 3), quoted)
