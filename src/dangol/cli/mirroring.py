"""Bringing a mirror (transparency/mirror.py) up to a log's latest checkpoint: verify the
checkpoint, check that it extends the one the mirror kept (or name the first of the
mirror's entries the log no longer has), fetch the new entries page by page, check every
leaf hash and the new root, and only then keep the new checkpoint. A run that stops midway
leaves the mirror as it was (the next run cuts what it added)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..transparency.audit import AuditError, first_divergence, verify_extension
from ..transparency.checkpoint import Checkpoint, open_checkpoint
from ..transparency.keys import VerifierKey
from ..transparency.merkle import MemoryNodeStore, MerkleTree
from ..transparency.mirror import Mirror
from ..transparency.proofs import leaf_hash
from .logclient import PAGE, LogClient


@dataclass(frozen=True)
class Synced:
    before: int
    checkpoint: Checkpoint


def tree_of(mirror: Mirror, size: int) -> MerkleTree:
    tree = MerkleTree(MemoryNodeStore())
    tree.append(mirror.leaf_hashes(size))
    return tree


def sync(client: LogClient, mirror: Mirror, key: VerifierKey, *, witnesses: Sequence[VerifierKey] = (),
         quorum: int = 0, progress: Callable[[int, int], None] | None = None) -> Synced:
    signed = client.checkpoint()
    new = open_checkpoint(signed, key, witnesses=witnesses, quorum=quorum).checkpoint
    kept = mirror.signed_checkpoint()
    have = 0
    if kept is not None:
        old = open_checkpoint(kept, key).checkpoint
        proof = client.consistency(old.size, new.size) if 0 < old.size < new.size else []
        try:
            verify_extension(old, new, proof)
        except AuditError as error:
            if new.origin != old.origin:
                raise
            # The first of the entries we hold that the log's tree no longer has: one it
            # rewrote, or after a rollback to a smaller tree the first it dropped. Its
            # proofs are asked whether our first m entries are in its new tree.
            held = min(old.size, new.size)
            first = first_divergence(tree_of(mirror, old.size), held, new, client.consistency)
            if first == old.size:  # every entry we hold is in its tree: nothing to name
                raise
            raise AuditError(f"{error.reason}; this is the first of the mirror's entries the log no longer has",
                             first) from None
        have = old.size
    mirror.cut(have)
    start = have
    while start < new.size:
        page = client.entries(start, min(PAGE, new.size - start))
        if not page:
            raise AuditError(f"the log serves no entry {start} though its checkpoint has {new.size}", start)
        page = page[:new.size - start]
        for k, record in enumerate(page):
            if record.index != start + k:
                raise AuditError(f"the log sent entry {record.index} where entry {start + k} should be", start + k)
            if leaf_hash(record.entry) != record.leaf_hash:
                raise AuditError("the log's leaf hash is not the hash of the entry it sent", record.index)
        mirror.append(page)
        start += len(page)
        if progress:
            progress(start - have, new.size - have)
    tree = tree_of(mirror, new.size)
    if tree.root() != new.root_hash:
        first = first_divergence(tree, new.size, new, client.consistency)
        raise AuditError(f"the entries the log sent do not make the tree it signed at size {new.size}",
                         first if first < new.size else None)
    mirror.save_checkpoint(signed, new.size)
    return Synced(have, new)
