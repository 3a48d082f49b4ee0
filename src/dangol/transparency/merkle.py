"""An append-only RFC 9162 Merkle tree kept as stored nodes, with proofs served from them.

Node addressing (the one of tlog "tiles"): node (level, index) is the root of the
complete subtree over leaves [index * 2^level, (index + 1) * 2^level); level 0, index i is
leaf hash i. Only complete subtrees are ever stored, so a node, once written, never
changes: a store can be append-only, and a node can be cached or served forever.

Appending a batch writes the batch's leaf hashes and every subtree the batch completes
(about one interior node per leaf). The root of any past size and the inclusion and
consistency proofs between any sizes are then assembled from O(log n) stored nodes: the
tree of size n is the complete subtrees of n's binary decomposition, folded right to left,
and every hash in a proof is either one complete subtree or such a fold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from .proofs import EMPTY_ROOT, HASH_SIZE, node_hash, split_point

Address = tuple[int, int]  # (level, index)


class NodeStore(Protocol):
    """Where the tree keeps its nodes. Hashes move in runs (the concatenation of
    consecutive 32-byte hashes of one level), which is how they are produced and how a
    database or a tile server would want to write and read them."""

    def get(self, level: int, index: int) -> bytes:
        """The hash of node (level, index); KeyError if it was never stored."""
        ...

    def get_many(self, addresses: Sequence[Address]) -> list[bytes]:
        """The hashes of several nodes, in order: one round trip per proof."""
        ...

    def put(self, level: int, start: int, run: bytes) -> None:
        """Stores len(run) // 32 hashes as nodes (level, start), (level, start + 1), ..."""
        ...


class MemoryNodeStore:
    """A NodeStore in memory: one bytearray of concatenated hashes per level, which
    costs 32 bytes a node (about 64 bytes per leaf in all) and appends without copying
    per node."""

    def __init__(self) -> None:
        self._levels: list[bytearray] = []

    def get(self, level: int, index: int) -> bytes:
        if level >= len(self._levels) or not 0 <= index < len(self._levels[level]) // HASH_SIZE:
            raise KeyError((level, index))
        offset = index * HASH_SIZE
        return bytes(self._levels[level][offset:offset + HASH_SIZE])

    def get_many(self, addresses: Sequence[Address]) -> list[bytes]:
        return [self.get(level, index) for level, index in addresses]

    def put(self, level: int, start: int, run: bytes) -> None:
        if len(run) % HASH_SIZE:
            raise ValueError("a run is a whole number of 32-byte hashes")
        while len(self._levels) <= level:
            self._levels.append(bytearray())
        stored = self._levels[level]
        offset = start * HASH_SIZE
        if offset == len(stored):
            stored += run
            return
        # Nodes are immutable: writing one again is allowed (a retried batch) only with the
        # same hash, and a gap would leave nodes that proofs need missing.
        if offset > len(stored):
            raise ValueError(f"level {level}: nodes from {len(stored) // HASH_SIZE} to {start} are missing")
        overlap = min(len(run), len(stored) - offset)
        if stored[offset:offset + overlap] != run[:overlap]:
            raise ValueError(f"level {level}: node {start} is already stored with another hash")
        stored += run[overlap:]

    def node_count(self) -> int:
        return sum(len(level) for level in self._levels) // HASH_SIZE


def subtrees(start: int, end: int) -> list[Address]:
    """The complete subtrees that make up leaves [start, end), left to right, each as
    large as its alignment allows. For the ranges that RFC 9162's recursion produces
    (start a multiple of a power of two not smaller than end - start) this is the binary
    decomposition of end - start, whose right-to-left fold is the range's MTH."""
    nodes: list[Address] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes make PATH(index, D[0:size]), leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    siblings: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            siblings.append((lo + k, hi))
            hi = lo + k
        else:
            siblings.append((lo, lo + k))
            lo += k
    siblings.reverse()
    return siblings


def fold(hashes: Sequence[bytes]) -> bytes:
    """The MTH of consecutive complete subtrees given left to right, largest first."""
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


class MerkleTree:
    """The log's tree: `size` leaves whose nodes live in `store`. Reopening a tree over a
    store that already holds nodes takes the size the store was last appended to (the
    size of the latest checkpoint, say); the tree never reads leaves, only nodes."""

    def __init__(self, store: NodeStore, size: int = 0) -> None:
        if size < 0:
            raise ValueError("a tree size is not negative")
        self._store = store
        self._size = size

    @property
    def size(self) -> int:
        return self._size

    @property
    def store(self) -> NodeStore:
        return self._store

    # ------------------------------------------------------------------ append

    def append(self, leaf_hashes: Sequence[bytes]) -> int:
        """Appends leaf hashes (see proofs.leaf_hash) and stores every subtree they
        complete; returns the new size. A level at a time, so that the hashing is one list
        comprehension per level over a contiguous run rather than Python work per leaf."""
        if not leaf_hashes:
            return self._size
        if any(len(h) != HASH_SIZE for h in leaf_hashes):
            raise ValueError(f"leaf hashes are {HASH_SIZE} bytes")
        old, new = self._size, self._size + len(leaf_hashes)
        run = b"".join(leaf_hashes)
        self._store.put(0, old, run)
        start, level = old, 0  # `run` holds this level's new nodes, from index `start`
        sha256 = hashlib.sha256
        while True:
            lo, hi = old >> (level + 1), new >> (level + 1)  # the parents this batch completes
            if lo == hi:
                break  # and none above either
            first_child = lo << 1
            if first_child < start:  # the left child of the first new parent was stored earlier
                run = self._store.get(level, first_child) + run
            children = memoryview(run)[:(hi - lo) * 2 * HASH_SIZE]
            run = b"".join([sha256(b"\x01" + children[i:i + 2 * HASH_SIZE]).digest()
                            for i in range(0, len(children), 2 * HASH_SIZE)])
            level += 1
            start = lo
            self._store.put(level, lo, run)
        self._size = new
        return new

    # ------------------------------------------------------------------ reads

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self._size
        if not 0 <= size <= self._size:
            raise ValueError(f"tree size {size} is not between 0 and {self._size}")
        return size

    def _range_hashes(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """The MTH of each leaf range, from the stored nodes, fetched in one get_many."""
        parts = [subtrees(a, b) for a, b in ranges]
        fetched = iter(self._store.get_many([node for part in parts for node in part]))
        return [fold([next(fetched) for _ in part]) for part in parts]

    def root(self, size: int | None = None) -> bytes:
        """The root hash of the tree as it was at `size` leaves (default: now)."""
        size = self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._range_hashes([(0, size)])[0]

    def leaf_hash(self, index: int) -> bytes:
        if not 0 <= index < self._size:
            raise IndexError(f"leaf {index} is not in a tree of {self._size} leaves")
        return self._store.get(0, index)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.3.1 PATH(index, D[0:size]), leaf side first. The recursion is
        walked top-down, noting each step's sibling range; each range is one stored node
        except at most one (the right part at the tree's right edge), which is a fold."""
        size = self._check_size(size)
        return self._range_hashes(_inclusion_ranges(index, size))

    def inclusion_proofs(self, indices: Sequence[int], size: int | None = None) -> dict[int, list[bytes]]:
        """The inclusion proofs of many leaves (a member's entries), with every node they
        need read in one `get_many` of distinct nodes."""
        size = self._check_size(size)
        paths = {index: _inclusion_ranges(index, size) for index in indices}
        # The proofs share their upper ranges: each distinct range is decomposed and folded once.
        ranges = {r: subtrees(*r) for path in paths.values() for r in path}
        wanted = sorted({node for nodes in ranges.values() for node in nodes})
        hashes = dict(zip(wanted, self._store.get_many(wanted)))
        folded = {r: fold([hashes[node] for node in nodes]) for r, nodes in ranges.items()}
        return {index: [folded[r] for r in path] for index, path in paths.items()}

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2]) = SUBPROOF(size1, D[0:size2], true),
        walked top-down like the inclusion proof. Empty when size1 is 0 or size2."""
        size2 = self._check_size(size2)
        if not 0 <= size1 <= size2:
            raise ValueError(f"size {size1} is not between 0 and {size2}")
        if size1 in (0, size2):
            return []
        ranges: list[tuple[int, int]] = []
        lo, hi, m, whole = 0, size2, size1, True
        while True:
            if m == hi - lo:
                if not whole:  # SUBPROOF(m, D[m], false) = [MTH(D[m])]
                    ranges.append((lo, hi))
                break
            k = split_point(hi - lo)
            if m <= k:
                ranges.append((lo + k, hi))
                hi = lo + k
            else:
                ranges.append((lo, lo + k))
                lo, m, whole = lo + k, m - k, False
        ranges.reverse()
        return self._range_hashes(ranges)
