"""Someone edits the database behind the ledger's back: the operator's check finds it and
names the first bad entry in log order. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from dangol.domain import FixedClock
from dangol.domain.commands import Adjust
from dangol.service.container import Services
from dangol.service.log_check import LogCheckReport
from dangol.storage.log_repository import LogRepository, StoredEntry

from .support import PROGRAM, every_kind


@pytest.fixture
def ledger(services: Services, clock: FixedClock) -> dict[str, Any]:
    r = every_kind(services, clock)
    services.log.integrate()
    services.log.sign()
    report = services.log_check.run()
    assert report.ok, [str(p) for p in report.problems]
    assert report.entries == report.tree_size > 10 and report.checkpoints == 1
    return r


def entry_of(services: Services, transaction_id: int) -> StoredEntry:
    with services.db.read() as conn:
        return next(e for e in LogRepository(conn).all_entries() if e.transaction_id == transaction_id)


def tamper(services: Services, sql: str, **params: Any) -> None:
    with services.db.write() as conn:
        assert conn.execute(text(sql), params).rowcount >= 1


def first_bad(services: Services) -> tuple[LogCheckReport, Any]:
    report = services.log_check.run()
    assert not report.ok
    return report, report.first_bad


def test_an_amount_changed_in_the_postings(services: Services, ledger: dict[str, Any]) -> None:
    txn = ledger["redeem"]["transaction"]["id"]
    tamper(services, "UPDATE postings SET amount = amount + 1 WHERE transaction_id = :t AND line = 0", t=txn)
    report, bad = first_bad(services)
    assert (bad.transaction, bad.index) == (txn, entry_of(services, txn).leaf_index)
    assert "postings" in bad.what
    assert not services.check.run().ok  # the ledger's own check sees the unbalanced transaction too


def test_an_amount_changed_in_both_postings_so_the_books_still_balance(services: Services,
                                                                        ledger: dict[str, Any]) -> None:
    txn = ledger["earn"]["transaction"]["id"]
    tamper(services, "UPDATE postings SET amount = amount * 2 WHERE transaction_id = :t", t=txn)
    tamper(services, "UPDATE lots SET amount = amount * 2, remaining = remaining * 2 WHERE transaction_id = :t",
           t=txn)
    report, bad = first_bad(services)
    assert (bad.transaction, bad.index) == (txn, entry_of(services, txn).leaf_index)
    assert "lots" in bad.what and "postings" in bad.what


def test_a_deleted_transaction_row(services: Services, ledger: dict[str, Any]) -> None:
    txn = ledger["transfer"]["transaction"]["id"]
    index = entry_of(services, txn).leaf_index
    tamper(services, "DELETE FROM transactions WHERE id = :t", t=txn)
    report, bad = first_bad(services)
    assert (bad.transaction, bad.index) == (txn, index)
    assert "not in the ledger" in bad.what


def test_two_swapped_entries(services: Services, ledger: dict[str, Any]) -> None:
    one, two = entry_of(services, ledger["capture"]["transaction"]["id"]), entry_of(
        services, ledger["adjust"]["transaction"]["id"])
    for a, b in ((one, two), (two, one)):
        tamper(services, "UPDATE log_entries SET entry = :e, leaf_hash = :h WHERE sequence = :s",
               e=b.entry, h=b.leaf_hash, s=a.sequence)
    report, bad = first_bad(services)
    assert bad.index == one.leaf_index == min(p.index for p in report.problems if p.index is not None and p.leaves == 1)
    assert {p.index for p in report.problems} >= {one.leaf_index, two.leaf_index}
    assert (bad.sequence, bad.transaction) == (one.sequence, one.transaction_id)


def test_a_reordered_pair_of_leaves(services: Services, ledger: dict[str, Any]) -> None:
    one, two = entry_of(services, ledger["redeem"]["transaction"]["id"]), entry_of(
        services, ledger["hold"]["log"][0]["sequence"] and ledger["void"]["transaction"]["id"])
    tamper(services, "UPDATE log_entries SET leaf_index = -1 WHERE sequence = :s", s=one.sequence)
    tamper(services, "UPDATE log_entries SET leaf_index = :i WHERE sequence = :s", i=one.leaf_index, s=two.sequence)
    tamper(services, "UPDATE log_entries SET leaf_index = :i WHERE sequence = :s", i=two.leaf_index, s=one.sequence)
    report, bad = first_bad(services)
    assert bad.index == one.leaf_index and "leaf node" in bad.what
    # A problem of the tree names the entry at its leaf too: here the one moved there.
    assert (bad.sequence, bad.transaction) == (two.sequence, two.transaction_id)


def test_a_modified_log_entry(services: Services, ledger: dict[str, Any]) -> None:
    txn = ledger["reverse"]["transaction"]["id"]
    stored = entry_of(services, txn)
    forged = stored.entry.replace(b'"kind":"reverse"', b'"kind":"adjust"')
    assert forged != stored.entry
    tamper(services, "UPDATE log_entries SET entry = :e WHERE sequence = :s", e=forged, s=stored.sequence)
    report, bad = first_bad(services)
    assert (bad.index, bad.sequence) == (stored.leaf_index, stored.sequence)
    whats = {p.what for p in report.problems if p.sequence == stored.sequence}
    assert any("leaf hash" in w for w in whats) and any("kind" in w for w in whats)


def test_a_modified_entry_with_its_leaf_hash_and_leaf_node_rewritten(services: Services,
                                                                      ledger: dict[str, Any]) -> None:
    from dangol.transparency import leaf_hash

    txn = ledger["adjust"]["transaction"]["id"]
    stored = entry_of(services, txn)
    forged = stored.entry.replace(b'"amount":50', b'"amount":5000').replace(b'"amount":-50', b'"amount":-5000')
    tamper(services, "UPDATE log_entries SET entry = :e, leaf_hash = :h WHERE sequence = :s",
           e=forged, h=leaf_hash(forged), s=stored.sequence)
    tamper(services, "UPDATE log_nodes SET hash = :h WHERE level = 0 AND idx = :i", h=leaf_hash(forged),
           i=stored.leaf_index)
    report, bad = first_bad(services)
    assert bad.index == stored.leaf_index and "postings" in bad.what
    # The signed root no longer matches: a problem over every leaf up to the checkpoint,
    # inside which the entry is the one named.
    assert any("checkpoint 1" in p.what and (p.index, p.leaves) == (0, report.tree_size) for p in report.problems)


def test_a_modified_node(services: Services, ledger: dict[str, Any]) -> None:
    tamper(services, "UPDATE log_nodes SET hash = :h WHERE level = 2 AND idx = 1", h=b"\x07" * 32)
    report, bad = first_bad(services)
    assert bad.index == 4 and "level 2, index 1" in bad.what and "children" in bad.what
    assert {p.leaves for p in report.problems} == {4, 8}  # the node, and its parent above it


def test_a_deleted_log_entry(services: Services, ledger: dict[str, Any]) -> None:
    txn = ledger["void"]["transaction"]["id"]
    stored = entry_of(services, txn)
    tamper(services, "DELETE FROM log_entries WHERE sequence = :s", s=stored.sequence)
    report, bad = first_bad(services)
    assert bad.index == stored.leaf_index and "missing" in bad.what
    assert any(p.transaction == txn and "no log entry" in p.what for p in report.problems)


def test_check_command_reports_the_first_bad_entry(services: Services, ledger: dict[str, Any],
                                                   database_url: str) -> None:
    from cli.helpers import dangol

    clean = dangol(database_url, "check")
    assert clean.exit_code == 0 and "OK: the log matches the ledger" in clean.stdout
    txn = ledger["redeem"]["transaction"]["id"]
    tamper(services, "UPDATE transactions SET order_ref = 'r-2' WHERE id = :t", t=txn)
    result = dangol(database_url, "check")
    assert result.exit_code == 1
    index = entry_of(services, txn).leaf_index
    assert f"the first bad entry: log entry (leaf {index}" in result.stdout and "order_ref" in result.stdout


def test_a_changed_leaf_node_names_the_entry_at_its_leaf(services: Services, ledger: dict[str, Any]) -> None:
    txn = ledger["capture"]["transaction"]["id"]
    stored = entry_of(services, txn)
    tamper(services, "UPDATE log_nodes SET hash = :h WHERE level = 0 AND idx = :i", h=b"\x09" * 32,
           i=stored.leaf_index)
    report, bad = first_bad(services)
    assert (bad.index, bad.sequence, bad.transaction) == (stored.leaf_index, stored.sequence, txn)
    assert str(bad) == (f"log entry (leaf {stored.leaf_index}, sequence {stored.sequence}, transaction {txn}): "
                        "its stored leaf node differs from its entry's leaf hash")


def test_a_checkpoint_that_does_not_match_names_the_leaves_since_the_last_that_does(
        services: Services, ledger: dict[str, Any], clock: FixedClock, database_url: str) -> None:
    from cli.helpers import dangol

    first = services.log.status().tree_size
    for points in (10, 20, 30):
        services.ledger.run(PROGRAM, Adjust(ledger["bob"], points, "goodwill"))
    services.log.integrate()
    second = services.log.sign().size
    assert second == first + 3 and services.log_check.run().ok
    tamper(services, "UPDATE log_checkpoints SET root_hash = :h WHERE size = :s", h=b"\x05" * 32, s=second)
    report, bad = first_bad(services)
    # The first checkpoint still matches: the change is in the three leaves after it.
    assert (bad.index, bad.leaves, bad.sequence) == (first, 3, None)
    assert str(bad).startswith(f"log entries (leaves {first} to {second - 1}): the tree of the leaves' hashes "
                               f"does not have checkpoint {second}'s stored root")
    assert any(p.what.startswith(f"checkpoint {second} does not verify") for p in report.problems)
    result = dangol(database_url, "check")
    assert result.exit_code == 1
    assert f"the first bad entry: log entries (leaves {first} to {second - 1})" in result.stdout
