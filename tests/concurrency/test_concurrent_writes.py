"""Real concurrent connections against one member's points, on PostgreSQL (row locks)
and on SQLite (one writer at a time: BEGIN IMMEDIATE and a busy timeout). Whatever the
interleaving, points are never overspent and the books stay balanced.

Threads share one `Services`: its engine's pool gives each thread its own connection."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from dangol.domain import FixedClock
from dangol.domain.commands import CaptureHold, Earn, Enroll, PlaceHold, Redeem, Transfer, VoidHold
from dangol.domain.errors import Conflict, DomainError, InsufficientPoints
from dangol.service.container import Services
from dangol.service.expiry import ExpiryJob

from .conftest import POLICY

pytestmark = pytest.mark.timeout(300)

THREADS = 16

def concurrently(work: Callable[[int], Any], threads: int = THREADS) -> list[Any]:
    """Runs work(0) … work(threads - 1) in threads released at the same instant; returns
    what each returned, or the exception it raised."""
    start = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 - reported to the test, which asserts on it
            results[index] = error

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def outcome(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except DomainError as error:
        return error


def member_with(services: Services, points: int, ref: str = "alice") -> str:
    member = services.ledger.run("market", Enroll(ref))["member"]["id"]
    if points:
        services.ledger.run("market", Earn(member, points=points))
    return member


def assert_books_balanced(services: Services) -> None:
    report = services.check.run()
    assert report.ok, report.mismatches


def test_parallel_redemptions_never_overspend(shared: Services) -> None:
    member = member_with(shared, 10_000)

    def redeem_three_times(thread: int) -> list[Any]:
        return [outcome(lambda: shared.ledger.run("market", Redeem(member, 1_000), idempotency_key=f"t{thread}-{n}"))
                for n in range(3)]

    results = concurrently(redeem_three_times)
    flat = [r for thread in results for r in thread]
    kinds = Counter("ok" if isinstance(r, dict) else type(r).__name__ for r in flat)
    assert kinds == {"ok": 10, "InsufficientPoints": 38}, kinds
    assert shared.reader.balance("market", member)["available"] == 0
    # every successful receipt saw a balance no other redemption saw
    assert sorted(r["balance"]["available"] for r in flat if isinstance(r, dict)) == list(range(0, 10_000, 1_000))
    assert_books_balanced(shared)


def test_parallel_holds_never_reserve_more_than_there_is(shared: Services) -> None:
    member = member_with(shared, 10_000)
    results = concurrently(lambda _: outcome(lambda: shared.ledger.run("market", PlaceHold(member, 1_000))))
    holds = [r["hold"]["id"] for r in results if isinstance(r, dict)]
    assert len(holds) == 10 and sum(isinstance(r, InsufficientPoints) for r in results) == THREADS - 10
    balance = shared.reader.balance("market", member)
    assert (balance["available"], balance["held"]) == (0, 10_000)

    # Capture and void the holds in parallel, each twice: only one settle of each succeeds.
    def close(index: int) -> Any:
        hold = holds[index % 10]
        command = CaptureHold(hold, 600) if hold % 2 else VoidHold(hold)
        return outcome(lambda: shared.ledger.run("market", command))

    closed = concurrently(close, threads=20)
    assert sum(isinstance(r, dict) for r in closed) == 10
    assert {r.code for r in closed if isinstance(r, DomainError)} == {"hold-not-active"}
    captured = sum(1 for h in holds if h % 2)
    balance = shared.reader.balance("market", member)
    assert (balance["available"], balance["held"]) == (10_000 - 600 * captured, 0)
    assert_books_balanced(shared)


def test_parallel_earns_keep_the_cached_balance_right(shared: Services) -> None:
    member = member_with(shared, 0)

    def earn_twenty_times(thread: int) -> None:
        for n in range(20):
            shared.ledger.run("market", Earn(member, points=thread + 1), idempotency_key=f"e{thread}-{n}")

    assert concurrently(earn_twenty_times) == [None] * THREADS
    # 20 x (1 + 2 + … + 16) = 2,720
    assert shared.reader.balance("market", member)["available"] == 2_720
    assert_books_balanced(shared)


def test_parallel_transfers_both_ways_neither_deadlock_nor_lose_points(shared: Services) -> None:
    alice, bob = member_with(shared, 5_000, "alice"), member_with(shared, 5_000, "bob")

    def transfer(thread: int) -> list[Any]:
        source, target = (alice, bob) if thread % 2 else (bob, alice)
        return [outcome(lambda: shared.ledger.run("market", Transfer(source, target, 700))) for _ in range(5)]

    results = [r for thread in concurrently(transfer) for r in thread]
    assert all(isinstance(r, (dict, InsufficientPoints)) for r in results), results
    total = sum(shared.reader.balance("market", m)["available"] for m in (alice, bob))
    assert total == 10_000
    assert_books_balanced(shared)


def test_a_retry_racing_the_original_gets_the_same_receipt(shared: Services) -> None:
    member = member_with(shared, 10_000)
    results = concurrently(lambda _: shared.ledger.run("market", Redeem(member, 1_000), idempotency_key="pos-1/sale-9"),
                           threads=8)
    assert all(isinstance(r, dict) for r in results), results
    assert all(r == results[0] for r in results)
    assert shared.reader.balance("market", member)["available"] == 9_000
    assert_books_balanced(shared)


def test_enrolling_one_customer_twice_at_once_enrols_them_once(shared: Services) -> None:
    results = concurrently(lambda _: outcome(lambda: shared.ledger.run("market", Enroll("carol"))), threads=8)
    assert sum(isinstance(r, dict) for r in results) == 1, results
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, dict)), results
    assert shared.reader.member_by_ref("market", "carol")["external_ref"] == "carol"


def test_expiry_racing_redemptions_expires_and_redeems_each_point_once(shared: Services, clock: FixedClock) -> None:
    members = [member_with(shared, 0, f"customer-{i}") for i in range(6)]
    start = clock.now()
    for member in members:
        shared.ledger.run("market", Earn(member, points=3_000, expires_at=start + timedelta(days=10)))
        shared.ledger.run("market", Earn(member, points=3_000))
    clock.advance(days=11)  # the first 3,000 of everyone have expired, unwritten

    def work(thread: int) -> Any:
        if thread < 2:
            return ExpiryJob(shared.db, clock, batch_size=2).run("market")
        member = members[thread % len(members)]
        return [outcome(lambda: shared.ledger.run("market", Redeem(member, 1_000))) for _ in range(2)]

    results = concurrently(work, threads=14)
    redeemed = sum(isinstance(r, dict) for thread in results[2:] for r in thread)
    # Each member gets 4 attempts at 1,000 from two threads, and has 3,000 unexpired points.
    assert redeemed == 6 * 3
    with shared.db.read() as conn:
        expired = conn.exec_driver_sql("SELECT SUM(amount) FROM postings WHERE account = 'expired'").scalar()
    assert expired == 6 * 3_000
    assert all(shared.reader.balance("market", m)["available"] == 0 for m in members)
    assert_books_balanced(shared)


def test_a_coupon_retry_racing_the_original_gets_the_same_receipt(database_url: str, clock: FixedClock) -> None:
    """Eight copies of one redemption (same key, same body) held up together behind a lock
    on the coupon, then let go: one redeems it, the others answer with its receipt, not
    with "already redeemed"."""
    import time
    from datetime import datetime, timezone

    from sqlalchemy import select

    from dangol.storage import tables as t
    from engagement.support import enrol, purchase, record

    services = Services.open(database_url, clock, migrate=False)
    try:
        services.programs.create_program("market", "Talent market", "KRW", POLICY)
        codes = iter(f"C{n}" for n in range(1, 100))
        services.engagement.codes = lambda: next(codes)
        member = enrol(services, "market", "dora")
        at = datetime(2025, 12, 20, 1, tzinfo=timezone.utc)  # the design-10 coupon is valid 30 days
        clock.set(at)
        record(services, "market", member, purchase(30_000, [("design", 30_000)]), at, first_purchase=True)
        results: list[Any] = [None] * 8

        def redeem(index: int) -> None:
            results[index] = outcome(lambda: services.engagement.redeem_coupon(
                "market", "C1", "pos-7/coupon", order_amount=20_000))

        workers = [threading.Thread(target=redeem, args=(i,)) for i in range(8)]
        with services.db.write() as conn:  # the coupon locked (PostgreSQL), or the database (SQLite)
            conn.execute(select(t.engagement_coupons.c.code).where(t.engagement_coupons.c.code == "C1")
                         .with_for_update())
            for worker in workers:
                worker.start()
            time.sleep(0.5)  # every copy is past its first reads, waiting
        for worker in workers:
            worker.join()
        assert all(isinstance(r, dict) for r in results), results
        assert all(r == results[0] for r in results)
        assert results[0]["discount"] == 2_000 and results[0]["coupon"]["state"] == "redeemed"
    finally:
        services.db.dispose()
