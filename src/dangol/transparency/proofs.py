"""RFC 9162 Merkle tree hashing and proof verification: everything an auditor needs to
check an inclusion or a consistency proof, with nothing but the standard library.

This module is deliberately self-contained (it knows nothing of node stores, notes or
the ledger) so that it can be read in one sitting and copied into an independent
verifier. References are to RFC 9162 (Certificate Transparency v2), section 2.1,
whose tree hashing is the same as RFC 6962's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
# RFC 9162 §2.1.1: the hash of an empty tree is the hash of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()
# A proof for a tree of at most 2^64 leaves has at most 64 (+1 for consistency) hashes:
# anything longer is refused before any hashing is done.
MAX_PROOF_HASHES = 65

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A proof that does not verify, or arguments that no valid proof could match."""


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1: MTH({d(0)}) = HASH(0x00 || d(0)). The 0x00 / 0x01 prefixes keep a
    leaf from ever being taken for an interior node (second-preimage resistance)."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: HASH(0x01 || MTH(left) || MTH(right))."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2): where RFC 9162 splits
    a list of n leaves into a complete left subtree and the rest."""
    if n < 2:
        raise ValueError("a split needs at least two leaves")
    return 1 << ((n - 1).bit_length() - 1)


def mth(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of a list of leaf hashes, straight from the RFC's recursive
    definition (§2.1.1). O(n): for reference and for recomputing small trees, not for
    the log itself, which keeps its interior nodes."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = split_point(n)
    return node_hash(mth(leaf_hashes[:k]), mth(leaf_hashes[k:]))


def _check_hash(name: str, value: bytes) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ProofError(f"{name} is not a {HASH_SIZE}-byte hash")


def _check_path(path: Sequence[bytes]) -> None:
    if len(path) > MAX_PROOF_HASHES:
        raise ProofError(f"proof has {len(path)} hashes, more than any tree of 2^64 leaves needs")
    for i, p in enumerate(path):
        _check_hash(f"proof[{i}]", p)


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root that an inclusion proof of leaf hash `leaf` at `index` implies for a
    tree of `size` leaves: RFC 9162 §2.1.3.2, steps 1 to 4, followed literally."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of {size} leaves")
    _check_hash("leaf hash", leaf)
    _check_path(path)
    fn, sn = index, size - 1
    r = bytes(leaf)
    for p in path:
        if sn == 0:
            raise ProofError("proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                # fn is the last node of its level with no right sibling: climb until it is
                # a right child again (or the root of the left part).
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the tree is deep")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> None:
    """Checks that leaf hash `leaf` is leaf number `index` (from 0) of the tree of `size`
    leaves whose root is `root` (RFC 9162 §2.1.3.2). Raises ProofError if not."""
    _check_hash("root", root)
    if root_from_inclusion_proof(index, size, leaf, path) != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, path: Sequence[bytes]) -> None:
    """Checks that the tree of `size2` leaves with root `root2` extends the tree of
    `size1` leaves with root `root1` (RFC 9162 §2.1.4.2). Raises ProofError if not.

    The RFC's algorithm covers 0 < size1 < size2; the edge cases follow from the
    definitions: equal sizes need equal roots and an empty proof, and every tree extends
    the empty tree, whose root must then be the hash of the empty string."""
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    _check_path(path)
    if not 0 <= size1 <= size2:
        raise ProofError(f"a tree of {size2} leaves cannot extend one of {size1}")
    if size1 == 0 or size1 == size2:
        if path:
            raise ProofError("the proof for these sizes must be empty")
        if size1 == 0 and root1 != EMPTY_ROOT:
            raise ProofError("root1 is not the root of the empty tree")
        if size1 == size2 and root1 != root2:
            raise ProofError("trees of the same size have different roots")
        return
    if not path:
        raise ProofError("empty consistency proof")
    # Step 2: when size1 is a power of two, the old tree is a single node of the new one,
    # and the proof leaves out that node (the verifier already has it as root1).
    nodes = [root1, *path] if size1 & (size1 - 1) == 0 else list(path)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            raise ProofError("proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the tree is deep")
    if fr != root1:
        raise ProofError("consistency proof does not lead to root1")
    if sr != root2:
        raise ProofError("consistency proof does not lead to root2")
