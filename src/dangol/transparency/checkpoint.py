"""C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the signed statement of a
log's tree head, as the text of a signed note:

    <origin>\\n<tree size, decimal>\\n<base64 root hash>\\n[<extension line>\\n ...]

signed by the log's key (its name should be the origin) and optionally cosigned by
witnesses (cosignature.py)."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from . import cosignature
from .note import NoteError, Signer, Verifier, b64decode_strict, check_text, open_note, sign
from .proofs import HASH_SIZE

MAX_TREE_SIZE = 2**64 - 1  # what every other implementation can represent
_SIZE = re.compile(r"0|[1-9][0-9]*")  # ASCII decimal, no leading zeros


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise NoteError("a checkpoint's origin is one non-empty line")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise NoteError(f"a tree size is between 0 and 2^64 - 1, not {self.size}")
        if len(self.root_hash) != HASH_SIZE:
            raise NoteError("a root hash is 32 bytes")
        if any(not line or "\n" in line for line in self.extensions):
            raise NoteError("extension lines are single non-empty lines")

    def body(self) -> str:
        """The note text of this checkpoint."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode(), *self.extensions]
        text = "".join(line + "\n" for line in lines)
        check_text(text)
        return text

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Reads a checkpoint's note text (already verified, see open_checkpoint)."""
        if not text.endswith("\n"):
            raise NoteError("a checkpoint ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("a checkpoint has an origin, a tree size and a root hash")
        origin, size, root, *extensions = lines
        if not _SIZE.fullmatch(size):
            raise NoteError("a checkpoint's tree size is a decimal number without leading zeros")
        return cls(origin, int(size), b64decode_strict(root, "the root hash"), tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[Signer]) -> bytes:
    """The signed note of a checkpoint: the log's signature, and any cosigners' after it."""
    return sign(checkpoint.body(), signers)


@dataclass(frozen=True)
class Cosignature:
    name: str
    key_id: int
    timestamp: int  # seconds since the epoch, as the witness stated it


@dataclass(frozen=True)
class VerifiedCheckpoint:
    checkpoint: Checkpoint
    cosignatures: tuple[Cosignature, ...]  # verified, by the witnesses given


def open_checkpoint(data: bytes | str, log: Verifier, *, origin: str | None = None,
                    witnesses: Sequence[Verifier] = (), quorum: int = 0) -> VerifiedCheckpoint:
    """Verifies a signed checkpoint: it must carry a valid signature by `log`, name the
    expected origin (by default the log key's name, as the spec recommends), and carry
    valid cosignatures by at least `quorum` of `witnesses` (type 0x04 keys). Signatures by
    keys not given are ignored; a bad signature by a key given rejects the checkpoint."""
    if quorum > len(witnesses):
        raise ValueError(f"a quorum of {quorum} among {len(witnesses)} witnesses cannot be met")
    verified = open_note(data, [log, *witnesses])
    signers = {(s.name, s.key_id) for s in verified.verified}
    if (log.name, log.key_id) not in signers:
        raise NoteError(f"the checkpoint is not signed by the log's key {log.name}")
    checkpoint = Checkpoint.parse(verified.text)
    expected = log.name if origin is None else origin
    if checkpoint.origin != expected:
        raise NoteError(f"the checkpoint is of log {checkpoint.origin!r}, not {expected!r}")
    witness_keys = {(w.name, w.key_id) for w in witnesses}
    cosignatures = tuple(Cosignature(s.name, s.key_id, cosignature.timestamp(s))
                         for s in verified.verified if (s.name, s.key_id) in witness_keys)
    if len(cosignatures) < quorum:
        raise NoteError(f"{len(cosignatures)} witness cosignatures, fewer than the quorum of {quorum}")
    return VerifiedCheckpoint(checkpoint, cosignatures)
