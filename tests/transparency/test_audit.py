"""The auditor's checks on a synthetic log: a faithful log passes with the balances a
member would compute by hand, and every kind of tampering is caught at the first bad entry."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dangol.transparency import Checkpoint, leaf_hash
from dangol.transparency.audit import AuditError, Record, audit, first_divergence, verify_extension, verify_receipt
from dangol.transparency.entry import decode

from .logs import ORIGIN, SignedLog, records_of, synthetic

SIZE = 3000


@pytest.fixture(scope="module")
def log() -> SignedLog:
    return synthetic(SIZE, members=50)


@pytest.fixture(scope="module")
def small_log() -> SignedLog:
    return synthetic(300, members=6, seed=3)


def edited(record: Record, edit, *, rehash: bool) -> Record:  # type: ignore[no-untyped-def]
    value = json.loads(record.entry)
    edit(value)
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return replace(record, entry=data, leaf_hash=leaf_hash(data) if rehash else record.leaf_hash)


def first_redeem(log: SignedLog, after: int) -> int:
    return next(r.index for r in log.records[after:] if b'"kind":"redeem"' in r.entry)


def test_a_faithful_log_passes_and_its_balances_are_the_sums_of_the_postings(log: SignedLog) -> None:
    result = audit(log.records, log.checkpoint(), earlier=[log.checkpoint(1000), log.checkpoint(2999)])
    books = result.books.programs["market"]
    by_hand: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in log.records:
        for p in json.loads(r.entry).get("postings", []):
            if p["member"]:
                by_hand[p["member"]][p["account"]] += p["amount"]
    assert len(books.members) == len(by_hand) == 50
    for member, accounts in by_hand.items():
        balance = books.members[member]
        assert (balance.available, balance.pending, balance.held) == (
            accounts["available"], accounts["pending"], accounts["held"])
        assert balance.debt == 0
    assert books.outstanding() == sum(b.available + b.pending + b.held for b in books.members.values()) > 0
    assert books.outstanding() == -books.accounts["issued"] - books.accounts["redeemed"] - books.accounts["expired"]
    assert books.transactions + books.rulesets == SIZE and books.rulesets == 0
    assert result.tree.root() == log.checkpoint().root_hash


def test_the_audit_stops_at_the_checkpoint(log: SignedLog) -> None:
    assert audit(log.records, log.checkpoint(1234)).tree.size == 1234


def test_an_edited_amount_is_pinpointed_by_its_leaf_hash(log: SignedLog) -> None:
    i = first_redeem(log, 700)
    records = list(log.records)
    records[i] = edited(records[i], lambda v: v["postings"][0].update(amount=v["postings"][0]["amount"] - 1),
                        rehash=False)
    with pytest.raises(AuditError) as caught:
        audit(records, log.checkpoint())
    assert caught.value.index == i
    assert "leaf hash" in str(caught.value)


def test_an_edit_with_its_leaf_hash_recomputed_is_bounded_by_checkpoints_then_pinpointed(log: SignedLog) -> None:
    i = first_redeem(log, 1500)

    def pay_less(v: dict) -> None:  # both sides, so that the postings still balance
        for p in v["postings"]:
            p["amount"] += 10 if p["amount"] < 0 else -10
        v["movements"][0]["amount"] -= 10
    records = list(log.records)
    records[i] = edited(records[i], pay_less, rehash=True)
    with pytest.raises(AuditError) as caught:
        audit(records, log.checkpoint(), earlier=[log.checkpoint(1000), log.checkpoint(2500)])
    assert caught.value.index is None
    assert "from index 1000 to 2499" in str(caught.value)
    # Pinpointed with consistency proofs from the genuine tree (the log's stored nodes).
    tampered = SignedLog(records).tree()
    honest = log.tree()
    assert first_divergence(tampered, SIZE, log.checkpoint(), honest.consistency_proof) == i


def test_a_deleted_entry_is_pinpointed(log: SignedLog) -> None:
    records = log.records[:900] + log.records[901:]
    with pytest.raises(AuditError) as caught:
        audit(records, log.checkpoint())
    assert caught.value.index == 900
    renumbered = [replace(r, index=k) for k, r in enumerate(records)]
    # Removed from a renumbered mirror: the books may trip later (a lot the removed entry
    # created), the tree against the log's proofs names the entry.
    with pytest.raises(AuditError):
        audit(renumbered, log.checkpoint(SIZE - 1))
    assert first_divergence(SignedLog(renumbered).tree(), SIZE - 1, log.checkpoint(), log.tree().consistency_proof) == 900


def test_a_reordered_pair_is_pinpointed(log: SignedLog) -> None:
    """Each entry keeps its own leaf hash and sequence: only the tree tells, and bisection
    against the log's proofs finds it."""
    records = list(log.records)
    records[1200], records[1201] = replace(records[1201], index=1200), replace(records[1200], index=1201)
    with pytest.raises(AuditError, match="does not have the signed root: an entry from index 0 to 2999"):
        audit(records, log.checkpoint())
    with pytest.raises(AuditError, match="from index 1000 to 2499"):
        audit(records, log.checkpoint(), earlier=[log.checkpoint(1000), log.checkpoint(2500)])
    assert first_divergence(SignedLog(records).tree(), SIZE, log.checkpoint(), log.tree().consistency_proof) == 1200


def test_sequences_may_run_out_of_order_but_never_repeat(log: SignedLog) -> None:
    records = [replace(r, sequence=10_000 - r.index) for r in log.records]  # any order the log committed in
    assert audit(records, log.checkpoint()).tree.size == SIZE
    records[700] = replace(records[700], sequence=records[699].sequence)
    with pytest.raises(AuditError, match="entry 700: sequence 9301 is that of an earlier entry too"):
        audit(records, log.checkpoint())


def test_a_log_signed_over_bad_bookkeeping_is_pinpointed(log: SignedLog) -> None:
    """The operator logs (and signs) a redemption whose postings say less than its lots:
    every hash is right, the books are not."""
    i = first_redeem(log, 400)

    def shave(v: dict) -> None:
        for p in v["postings"]:
            p["amount"] += 1 if p["amount"] < 0 else -1
    records = list(log.records)
    records[i] = edited(records[i], shave, rehash=True)
    bad = SignedLog(records, log.key)
    with pytest.raises(AuditError) as caught:
        audit(bad.records, bad.checkpoint())
    assert caught.value.index == i
    assert "lots hold" in str(caught.value)


def test_a_non_canonical_entry_is_pinpointed(log: SignedLog) -> None:
    records = list(log.records)
    spaced = records[10].entry.replace(b'"v":1', b'"v": 1')
    records[10] = replace(records[10], entry=spaced, leaf_hash=leaf_hash(spaced))
    bad = SignedLog(records, log.key)
    with pytest.raises(AuditError, match="entry 10: the entry is not in canonical form"):
        audit(bad.records, bad.checkpoint())


def test_a_movement_from_an_unknown_lot_is_refused() -> None:
    log = synthetic(200, members=5)
    i = first_redeem(log, 0)
    records = list(log.records)
    records[i] = edited(records[i], lambda v: v["movements"][0].update(lot=999_999), rehash=True)
    bad = SignedLog(records)
    with pytest.raises(AuditError, match=f"entry {i}: a movement takes from lot 999999"):
        audit(bad.records, bad.checkpoint())


def test_a_short_mirror_is_refused(log: SignedLog) -> None:
    with pytest.raises(AuditError, match="the mirror holds 100 entries, the checkpoint 3000"):
        audit(log.records[:100], log.checkpoint())


def test_receipts_prove_inclusion(log: SignedLog) -> None:
    tree, checkpoint = log.tree(), log.checkpoint()
    verify_receipt(checkpoint, 1234, log.records[1234].leaf_hash, tree.inclusion_proof(1234))
    with pytest.raises(AuditError, match="entry 1234: not in the log at size 3000"):
        verify_receipt(checkpoint, 1234, log.records[1235].leaf_hash, tree.inclusion_proof(1234))


def test_extensions_catch_rollbacks_split_views_and_rewrites(log: SignedLog) -> None:
    tree = log.tree()
    old, new = log.checkpoint(1000), log.checkpoint()
    verify_extension(old, new, tree.consistency_proof(1000, SIZE))
    verify_extension(new, new, [])
    with pytest.raises(AuditError, match="rollback"):
        verify_extension(new, old, [])
    other = Checkpoint(ORIGIN, 1000, log.checkpoint(999).root_hash)
    with pytest.raises(AuditError, match="split view"):
        verify_extension(old, other, [])
    rewritten = records_of([r.entry for r in log.records[:500]] + [r.entry for r in log.records[501:]])
    rewritten_tree = SignedLog(rewritten).tree()
    forged = Checkpoint(ORIGIN, len(rewritten), rewritten_tree.root())
    with pytest.raises(AuditError, match="does not extend"):
        verify_extension(old, forged, rewritten_tree.consistency_proof(1000))


def test_entries_parse_strictly_in_the_audit(log: SignedLog) -> None:
    assert decode(log.records[0].entry).program == "market"


@settings(max_examples=40, deadline=None)
@given(i=st.integers(0, 298), how=st.sampled_from(["edit", "delete", "swap"]))
def test_any_tampering_is_pinned_to_its_first_entry(small_log: SignedLog, i: int, how: str) -> None:
    """Whatever entry is changed, removed or swapped with the next, and whatever its stored
    hash then says, the audit fails, and the log's proofs name entry i."""
    records = [r.entry for r in small_log.records]
    if how == "edit":
        records[i] = records[i].replace(b'"program":"market"', b'"program":"market2"')
    elif how == "delete":
        del records[i]
    else:
        records[i], records[i + 1] = records[i + 1], records[i]
    tampered = SignedLog(records_of(records))
    size = len(records)
    with pytest.raises(AuditError):
        audit(tampered.records, Checkpoint(ORIGIN, size, small_log.checkpoint(size).root_hash))
    honest = small_log.tree()
    assert first_divergence(tampered.tree(), size, small_log.checkpoint(), honest.consistency_proof) == i
