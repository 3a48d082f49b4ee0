"""The auditor's side of the log: everything `dangol verify` checks, as plain functions
over values (no I/O, standard library and `cryptography` only), so that an auditor can
read it in one sitting and run it without the rest of dangol.

- a checkpoint: `open_checkpoint` (checkpoint.py) with the log's key and k-of-n witnesses;
- a receipt: `verify_receipt`, the inclusion of (index, leaf hash) in a checkpoint;
- two checkpoints: `verify_extension`, the newer extends the older (a consistency proof);
- a mirror of the whole log: `audit`, every entry's leaf hash, strict parse (entry.py)
  and bookkeeping (books.py), the tree of all leaves against the checkpoint and against
  every earlier checkpoint kept, and the balances recomputed from the entries alone;
- where a history and a tree part ways: `first_divergence`, a bisection with
  consistency proofs that names the first entry that differs.

Every failure is an AuditError naming the first bad entry's index when there is one."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .books import Books, BooksError
from .checkpoint import Checkpoint
from .entry import Entry, EntryError, decode
from .merkle import MemoryNodeStore, MerkleTree
from .proofs import ProofError, verify_consistency, verify_inclusion

ProofSource = Callable[[int, int], Sequence[bytes]]  # (size1, size2) -> consistency proof
_BATCH = 1 << 14  # leaf hashes appended to the tree at a time


class AuditError(ValueError):
    """A check that failed; `index` is the first bad entry's, when one can be named."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message if index is None else f"entry {index}: {message}")
        self.index = index
        self.reason = message


@dataclass(frozen=True, slots=True)
class Record:
    """One entry of a mirrored log, as the log served it."""

    index: int
    sequence: int
    leaf_hash: bytes
    entry: bytes


def verify_receipt(checkpoint: Checkpoint, index: int, leaf_hash: bytes, proof: Sequence[bytes]) -> None:
    """A receipt's leaf hash is leaf `index` of the checkpoint's tree."""
    try:
        verify_inclusion(index, checkpoint.size, leaf_hash, proof, checkpoint.root_hash)
    except ProofError as error:
        raise AuditError(f"not in the log at size {checkpoint.size}: {error}", index) from None


def verify_extension(older: Checkpoint, newer: Checkpoint, proof: Sequence[bytes]) -> None:
    """`newer` extends `older`: same log, no smaller, and the consistency proof holds. A
    failure here means the log showed two histories (a fork, a rewrite or a rollback)."""
    if older.origin != newer.origin:
        raise AuditError(f"the checkpoints are of two logs, {older.origin!r} and {newer.origin!r}")
    if newer.size < older.size:
        raise AuditError(f"rollback: the log is at size {newer.size}, smaller than the {older.size} seen before")
    if newer.size == older.size and newer.root_hash != older.root_hash:
        raise AuditError(f"split view: two different checkpoints of size {newer.size}")
    try:
        verify_consistency(older.size, newer.size, older.root_hash, newer.root_hash, proof)
    except ProofError as error:
        raise AuditError(f"the checkpoint of size {newer.size} does not extend the one of size {older.size}: "
                         f"{error}") from None


def first_divergence(tree: MerkleTree, upto: int, target: Checkpoint, proof: ProofSource) -> int:
    """The index of the first of our leaves [0, upto) that is not in the target's tree,
    by bisection: our prefix of m leaves is in it iff a consistency proof from m to the
    target's size verifies against our root of m leaves (one proof per step, log2 steps).
    Returns `upto` if all are. The proofs need not be trusted: a false one can only make
    a good prefix look bad, and never a bad one good."""
    good, bad = 0, upto + 1  # the longest prefix known to agree, the shortest known not to
    while bad - good > 1:
        m = (good + bad) // 2
        try:
            verify_consistency(m, target.size, tree.root(m), target.root_hash, proof(m, target.size))
            good = m
        except ProofError:
            bad = m
    return good


@dataclass
class AuditResult:
    checkpoint: Checkpoint
    books: Books
    tree: MerkleTree  # of every audited leaf, for proofs and bisection


def audit(records: Iterable[Record], checkpoint: Checkpoint, *, earlier: Sequence[Checkpoint] = (),
          progress: Callable[[int], None] | None = None,
          visit: Callable[[Entry], None] | None = None) -> AuditResult:
    """Audits a mirror of the log up to `checkpoint` (already verified: open_checkpoint):

    1. the records are leaves 0, 1, 2, …, no two with the same sequence number;
    2. each leaf hash, as served, is SHA-256(0x00 ‖ entry);
    3. each entry is a canonical, valid entry (entry.decode) that the books can follow;
    4. the tree of all leaves has the checkpoint's root, and its prefixes the roots of the
       `earlier` checkpoints (which bounds where a tree that does not match went wrong).

    Records past the checkpoint's size are not read. Raises AuditError at the first
    failure; `progress(n)` is called every few thousand entries, `visit(entry)` with each
    parsed entry (to compute a report from the same pass, say)."""
    books = Books()
    tree = MerkleTree(MemoryNodeStore())
    pending: list[bytes] = []
    sha256 = hashlib.sha256
    sequences: set[int] = set()
    n = 0
    if checkpoint.size:
        for record in records:
            if record.index != n:
                raise AuditError(f"found entry {record.index} where entry {n} should be", n)
            # Sequence order is not leaf order (on PostgreSQL an entry that commits late is
            # integrated late), but a sequence number names one entry.
            if record.sequence in sequences:
                raise AuditError(f"sequence {record.sequence} is that of an earlier entry too", n)
            sequences.add(record.sequence)
            digest = sha256(b"\x00" + record.entry).digest()
            if digest != record.leaf_hash:
                raise AuditError("the leaf hash is not the hash of the entry's bytes (the entry was changed)", n)
            try:
                entry = decode(record.entry)
                books.apply(entry)
            except (EntryError, BooksError) as error:
                raise AuditError(str(error), n) from None
            if visit:
                visit(entry)
            pending.append(digest)
            n += 1
            if len(pending) == _BATCH:
                tree.append(pending)
                pending = []
                if progress:
                    progress(n)
            if n == checkpoint.size:
                break
    tree.append(pending)
    if progress:
        progress(n)
    if n < checkpoint.size:
        raise AuditError(f"the mirror holds {n} entries, the checkpoint {checkpoint.size}", n)
    _check_roots(tree, checkpoint, earlier)
    return AuditResult(checkpoint, books, tree)


def _check_roots(tree: MerkleTree, checkpoint: Checkpoint, earlier: Sequence[Checkpoint]) -> None:
    """The tree against every checkpoint; on a mismatch, the range the first bad leaf is in."""
    good = 0
    for c in sorted({*earlier, checkpoint}, key=lambda c: c.size):
        if c.origin != checkpoint.origin or c.size > checkpoint.size:
            raise AuditError(f"checkpoint of size {c.size} of {c.origin!r} is not an earlier one of this log")
        if tree.root(c.size) != c.root_hash:
            raise AuditError(f"the tree of the first {c.size} entries does not have the signed root: an entry "
                             f"from index {good} to {c.size - 1} was changed, removed or moved")
        good = c.size
