"""Every ledger transaction, from every writer, is a log entry written in the same
database transaction, and every write's receipt says where its entries are."""

from __future__ import annotations

import base64
from collections import Counter

import pytest

from dangol.domain import FixedClock
from dangol.domain.commands import Earn, Redeem
from dangol.domain.errors import DomainError, InsufficientPoints
from dangol.service.container import Services
from dangol.service.ledger import Operation
from dangol.storage.log_repository import LogRepository
from dangol.transparency import leaf_hash
from dangol.transparency.entry import TransactionEntry, decode, member_commitment

from .support import PROGRAM, every_kind, transaction_count


def stored_entries(services: Services) -> list:  # type: ignore[type-arg]
    with services.db.read() as conn:
        return list(LogRepository(conn).all_entries())


def test_every_transaction_of_every_kind_has_one_entry(services: Services, clock: FixedClock) -> None:
    every_kind(services, clock)
    entries = stored_entries(services)
    assert len(entries) == transaction_count(services)
    kinds = Counter(decode(e.entry).kind for e in entries)  # type: ignore[union-attr]
    assert set(kinds) == {"earn", "release", "redeem", "hold", "capture", "void", "expire", "reverse", "adjust",
                          "transfer"}
    for e in entries:
        assert e.leaf_hash == leaf_hash(e.entry)
        assert isinstance(decode(e.entry), TransactionEntry)
    assert [e.sequence for e in entries] == sorted(e.sequence for e in entries)


def test_an_entry_names_members_by_commitment_only(services: Services, clock: FixedClock) -> None:
    r = every_kind(services, clock)
    with services.db.read() as conn:
        keys = LogRepository(conn).all_member_keys()
    alice_key = keys[r["alice"]][1]
    commitment = member_commitment(alice_key, PROGRAM, r["alice"])
    earn = next(decode(e.entry) for e in stored_entries(services) if e.transaction_id == r["earn"]["transaction"]["id"])
    assert isinstance(earn, TransactionEntry)
    assert [p.member for p in earn.postings if p.member] == [commitment]
    assert (earn.money.amount, earn.order_ref, earn.rule, earn.idempotency_key) == (100_000, "o-1", "base", "earn-1")
    assert earn.lots and earn.lots[0].amount == earn.postings[-1].amount
    for e in stored_entries(services):
        text = e.entry.decode()
        assert r["alice"] not in text and r["bob"] not in text and "Café" not in text


def test_receipts_carry_the_sequence_and_leaf_hash_of_their_transactions(services: Services,
                                                                         clock: FixedClock) -> None:
    r = every_kind(services, clock)
    by_sequence = {e.sequence: e for e in stored_entries(services)}
    for name in ("earn", "redeem", "hold", "capture", "void", "reverse", "adjust", "transfer"):
        [item] = r[name]["log"]
        stored = by_sequence[item["sequence"]]
        assert base64.b64decode(item["leaf_hash"]) == stored.leaf_hash
        if r[name].get("transaction"):
            assert stored.transaction_id == r[name]["transaction"]["id"]
    # Closing a member forfeits both their lots' points: two transactions, two receipts.
    assert len(r["close"]["log"]) == len(r["close"]["transactions"]) >= 1
    # A hold transaction has no transaction in its receipt, but it is in the log.
    assert decode(by_sequence[r["hold"]["log"][0]["sequence"]].entry).kind == "hold"  # type: ignore[union-attr]
    assert r["batch"][0]["log"] and isinstance(r["batch"][1], InsufficientPoints) and r["batch"][2]["log"]


def test_a_retry_gets_the_same_log_receipt_and_writes_nothing(services: Services, clock: FixedClock) -> None:
    r = every_kind(services, clock)
    before = len(stored_entries(services))
    again = services.ledger.run(PROGRAM, Redeem(r["alice"], 1_000, order_ref="r-1"), "redeem-1")
    assert again["log"] == r["redeem"]["log"]
    assert len(stored_entries(services)) == before


def test_a_failed_write_leaves_no_entry(services: Services, clock: FixedClock) -> None:
    r = every_kind(services, clock)
    before = stored_entries(services)
    with pytest.raises(DomainError):
        services.ledger.run(PROGRAM, Redeem(r["alice"], 10**9))
    outcomes = services.ledger.execute(PROGRAM, [Operation(Redeem(r["bob"], 10**9))])
    assert isinstance(outcomes[0], DomainError)
    assert stored_entries(services) == before


def test_members_get_a_log_key_at_enrolment_in_bulk(services: Services, clock: FixedClock) -> None:
    from dangol.domain.commands import Enroll

    every_kind(services, clock)
    outcomes = services.ledger.execute(PROGRAM, [Operation(Enroll(f"bulk-{i}")) for i in range(50)])
    ids = [o["member"]["id"] for o in outcomes]  # type: ignore[index]
    with services.db.read() as conn:
        keys = LogRepository(conn).all_member_keys()
    assert all(keys[i][0] == PROGRAM and len(keys[i][1]) == 32 for i in ids)
    assert len({keys[i][1] for i in ids}) == 50  # random, one each
    for i in ids:
        assert keys[i][2] == member_commitment(keys[i][1], PROGRAM, i)
    services.ledger.run(PROGRAM, Earn(ids[0], points=1))


def test_the_expiry_job_writes_entries_too(services: Services, clock: FixedClock) -> None:
    r = every_kind(services, clock)
    assert r["expiry"].transactions > 0
    kinds = Counter(decode(e.entry).kind for e in stored_entries(services))  # type: ignore[union-attr]
    assert kinds["expire"] >= 1 and kinds["release"] >= 1


def test_a_published_ruleset_is_an_entry_too(services: Services, clock: FixedClock) -> None:
    from datetime import timedelta

    from sqlalchemy import text

    from dangol.transparency.entry import RulesetEntry

    every_kind(services, clock)
    entry = RulesetEntry(PROGRAM, "sha256:" + "cd" * 32, 2, clock.now() + timedelta(days=30), clock.now(), False,
                         {"program": PROGRAM, "rules": [], "version": 2})
    with services.db.write() as conn:
        sequence, digest = services.ledger.log.append_ruleset(conn, entry)
    services.log.integrate()
    stored = [e for e in stored_entries(services) if e.sequence == sequence][0]
    assert decode(stored.entry) == entry and stored.leaf_hash == digest and stored.transaction_id is None
    assert services.log_check.run().ok
    with services.db.write() as conn:
        conn.execute(text("UPDATE log_entries SET entry = :e WHERE sequence = :s"),
                     {"e": stored.entry.replace(b'"urgent":false', b'"urgent":true'), "s": sequence})
    bad = services.log_check.run().first_bad
    assert bad is not None and bad.sequence == sequence and "leaf hash" in bad.what
