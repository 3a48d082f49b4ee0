"""Properties of the stored-node tree on random trees, and agreement with pymerkle,
an independent RFC 9162 implementation (InmemoryTree('sha256'), whose default security
mode uses the RFC's 0x00 / 0x01 prefixes)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from dangol.transparency.merkle import MemoryNodeStore, MerkleTree, subtrees
from dangol.transparency.proofs import (
    ProofError, leaf_hash, mth, verify_consistency, verify_inclusion,
)

entries = st.lists(st.binary(max_size=8), min_size=1, max_size=70)
batch_sizes = st.lists(st.integers(min_value=1, max_value=17), min_size=1, max_size=70)


def build(leaves: list[bytes], batches: list[int]) -> MerkleTree:
    """The tree of `leaves`, appended in batches of the given sizes (cycled)."""
    tree = MerkleTree(MemoryNodeStore())
    i = 0
    while i < len(leaves):
        step = batches[i % len(batches)]
        tree.append(leaves[i:i + step])
        i += step
    return tree


def flip(data: bytes, position: int) -> bytes:
    position %= len(data)
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1:]


@settings(max_examples=60, deadline=None)
@given(entries, batch_sizes)
def test_roots_of_every_size_match_the_rfc_definition(data: list[bytes], batches: list[int]) -> None:
    leaves = [leaf_hash(d) for d in data]
    tree = build(leaves, batches)
    for size in range(len(leaves) + 1):
        assert tree.root(size) == mth(leaves[:size])


class CountingStore(MemoryNodeStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get_many(self, addresses):  # type: ignore[no-untyped-def]
        self.reads += 1
        return super().get_many(addresses)


@settings(max_examples=40, deadline=None)
@given(entries, batch_sizes, st.data())
def test_many_proofs_at_once_are_the_proofs_one_by_one(data: list[bytes], batches: list[int],
                                                       draw: st.DataObject) -> None:
    """A member's export asks for the proofs of all their entries at once: the same proofs,
    with every node read in one call."""
    leaves = [leaf_hash(d) for d in data]
    tree = build(leaves, batches)
    size = draw.draw(st.integers(min_value=1, max_value=len(leaves)))
    indices = draw.draw(st.lists(st.integers(min_value=0, max_value=size - 1), unique=True))
    store = CountingStore()
    store._levels = tree.store._levels  # type: ignore[attr-defined]
    together = MerkleTree(store, tree.size).inclusion_proofs(indices, size)
    assert together == {i: tree.inclusion_proof(i, size) for i in indices}
    assert store.reads == 1


@settings(max_examples=40, deadline=None)
@given(entries, batch_sizes)
def test_every_inclusion_proof_verifies_against_every_later_root(data: list[bytes], batches: list[int]) -> None:
    leaves = [leaf_hash(d) for d in data]
    tree = build(leaves, batches)
    roots = [tree.root(size) for size in range(len(leaves) + 1)]
    for size in range(1, len(leaves) + 1):
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert len(proof) <= math.ceil(math.log2(size))
            verify_inclusion(index, size, leaves[index], proof, roots[size])


@settings(max_examples=40, deadline=None)
@given(entries, batch_sizes)
def test_every_consistency_proof_verifies(data: list[bytes], batches: list[int]) -> None:
    leaves = [leaf_hash(d) for d in data]
    tree = build(leaves, batches)
    roots = [tree.root(size) for size in range(len(leaves) + 1)]
    for size2 in range(len(leaves) + 1):
        for size1 in range(size2 + 1):
            proof = tree.consistency_proof(size1, size2)
            assert len(proof) <= (math.ceil(math.log2(size2)) + 1 if size2 > 1 else 0)
            verify_consistency(size1, size2, roots[size1], roots[size2], proof)


@settings(max_examples=200, deadline=None)
@given(entries, st.data())
def test_tampering_with_an_inclusion_proof_fails(data: list[bytes], draw: st.DataObject) -> None:
    leaves = [leaf_hash(d) for d in data]
    tree = build(leaves, [len(leaves)])
    size = draw.draw(st.integers(1, len(leaves)))
    index = draw.draw(st.integers(0, size - 1))
    proof, root, leaf = tree.inclusion_proof(index, size), tree.root(size), leaves[index]
    byte = draw.draw(st.integers(0, 31))
    with pytest.raises(ProofError):
        verify_inclusion(index, size, flip(leaf, byte), proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf, proof, flip(root, byte))
    if proof:
        k = draw.draw(st.integers(0, len(proof) - 1))
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf, [*proof[:k], flip(proof[k], byte), *proof[k + 1:]], root)
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf, proof[:-1], root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf, [*proof, root], root)
    other = draw.draw(st.integers(0, size - 1))
    if leaves[other] != leaf:
        with pytest.raises(ProofError):  # the proof of one leaf is not the proof of another
            verify_inclusion(other, size, leaf, proof, root)


@settings(max_examples=200, deadline=None)
@given(entries, st.data())
def test_tampering_with_a_consistency_proof_fails(data: list[bytes], draw: st.DataObject) -> None:
    leaves = [leaf_hash(d) for d in data]
    tree = build(leaves, [3])
    size2 = draw.draw(st.integers(2, max(2, len(leaves)))) if len(leaves) >= 2 else None
    if size2 is None:
        return
    size1 = draw.draw(st.integers(1, size2 - 1))
    proof, root1, root2 = tree.consistency_proof(size1, size2), tree.root(size1), tree.root(size2)
    byte = draw.draw(st.integers(0, 31))
    k = draw.draw(st.integers(0, len(proof) - 1))
    bad_proofs = [[*proof[:k], flip(proof[k], byte), *proof[k + 1:]], proof[:-1], [*proof, root2], [root1, *proof]]
    for bad in bad_proofs:
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, root1, root2, bad)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, flip(root1, byte), root2, proof)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, root1, flip(root2, byte), proof)


@settings(max_examples=50, deadline=None)
@given(entries, batch_sizes)
def test_the_store_holds_exactly_the_complete_subtrees(data: list[bytes], batches: list[int]) -> None:
    leaves = [leaf_hash(d) for d in data]
    tree = build(leaves, batches)
    n, expected = len(leaves), 0
    for level in range(n.bit_length()):
        width = 1 << level
        for index in range(n >> level):
            assert tree.store.get(level, index) == mth(leaves[index * width:(index + 1) * width])
        with pytest.raises(KeyError):  # an incomplete subtree is never stored
            tree.store.get(level, n >> level)
        expected += n >> level
    assert tree.store.node_count() == expected


@given(st.integers(0, 2**40), st.integers(0, 2**40))
def test_subtrees_cover_a_range_with_aligned_complete_subtrees(a: int, b: int) -> None:
    start, end = min(a, b), max(a, b)
    position = start
    for level, index in subtrees(start, end):
        assert index << level == position
        position += 1 << level
    assert position == end
    assert len(subtrees(start, end)) <= 2 * 41


def test_appending_is_idempotent_per_node_but_refuses_rewrites() -> None:
    store = MemoryNodeStore()
    store.put(0, 0, b"\x01" * 64)
    store.put(0, 1, b"\x01" * 32 + b"\x02" * 32)  # a retried write of node 1, then node 2
    assert store.get(0, 2) == b"\x02" * 32
    with pytest.raises(ValueError):
        store.put(0, 0, b"\x03" * 32)
    with pytest.raises(ValueError):
        store.put(0, 5, b"\x03" * 32)


def test_proofs_refuse_sizes_the_tree_has_not_reached() -> None:
    tree = MerkleTree(MemoryNodeStore())
    tree.append([leaf_hash(b"a"), leaf_hash(b"b")])
    for call in (lambda: tree.root(3), lambda: tree.inclusion_proof(0, 3), lambda: tree.inclusion_proof(2, 2),
                 lambda: tree.consistency_proof(2, 3), lambda: tree.consistency_proof(2, 1)):
        with pytest.raises(ValueError):
            call()
    with pytest.raises(ValueError):
        tree.append([b"short"])


# ---------------------------------------------------------------- against pymerkle

@settings(max_examples=40, deadline=None)
@given(entries, batch_sizes)
def test_roots_and_proofs_agree_with_pymerkle(data: list[bytes], batches: list[int]) -> None:
    theirs = InmemoryTree(algorithm="sha256")  # security on: RFC 9162 prefixes
    for d in data:
        theirs.append_entry(d)
    ours = build([leaf_hash(d) for d in data], batches)
    n = len(data)
    assert theirs.get_root(0) == ours.root(0)
    for size in range(1, n + 1):
        assert ours.root(size) == theirs.get_root(size)
        for index in range(size):
            # pymerkle counts leaves from 1 and puts the leaf itself first in its path.
            path = theirs.prove_inclusion(index + 1, size).path
            assert path[0] == ours.leaf_hash(index)
            assert ours.inclusion_proof(index, size) == path[1:]
        for size1 in range(1, size + 1):
            verify_consistency(size1, size, theirs.get_root(size1), theirs.get_root(size),
                               ours.consistency_proof(size1, size))
