"""Synthetic signed logs for the verifier's tests: entries from bench.synthetic_log (a
bookkeeping-correct log without a database), as records, with a tree and checkpoints."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.synthetic_log import entries
from dangol.transparency import Checkpoint, MemoryNodeStore, MerkleTree, SignerKey, leaf_hash, sign_checkpoint
from dangol.transparency.audit import Record

ORIGIN = "dangol.example/log"


@dataclass
class SignedLog:
    records: list[Record]
    key: SignerKey = field(default_factory=lambda: SignerKey.generate(ORIGIN))

    def tree(self, size: int | None = None) -> MerkleTree:
        tree = MerkleTree(MemoryNodeStore())
        tree.append([r.leaf_hash for r in self.records[:size]])
        return tree

    def checkpoint(self, size: int | None = None) -> Checkpoint:
        size = len(self.records) if size is None else size
        return Checkpoint(ORIGIN, size, self.tree(size).root())

    def signed(self, size: int | None = None) -> bytes:
        return sign_checkpoint(self.checkpoint(size), [self.key])


def records_of(data: list[bytes], *, first_sequence: int = 100) -> list[Record]:
    return [Record(i, first_sequence + 3 * i, leaf_hash(e), e) for i, e in enumerate(data)]


def synthetic(count: int, **kwargs: object) -> SignedLog:
    return SignedLog(records_of(list(entries(count, **kwargs))))  # type: ignore[arg-type]
