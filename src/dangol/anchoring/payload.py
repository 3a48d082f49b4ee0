"""What an anchor carries: a fixed-format payload naming one checkpoint.

    dangol-checkpoint/v1\\n<origin>\\n<tree size, decimal>\\n<base64 root hash>\\n

that is, a version line and then the first three lines of the checkpoint's note text,
UTF-8. Text rather than raw bytes so that anyone reading the transaction's data on a
block explorer sees which log, size and root it names. Extension lines and signatures are
left out: the anchor fixes the tree head, and the signed note (kept by whoever verifies)
says who signed it."""

from __future__ import annotations

import hashlib

from ..transparency.checkpoint import Checkpoint
from ..transparency.note import NoteError

MAGIC = b"dangol-checkpoint/v1\n"


class AnchorError(ValueError):
    """An anchor that cannot be made, found or verified; the message says why, in one line."""


def anchor_payload(checkpoint: Checkpoint) -> bytes:
    head = Checkpoint(checkpoint.origin, checkpoint.size, checkpoint.root_hash)  # without extensions
    return MAGIC + head.body().encode("utf-8")


def payload_hash(payload: bytes) -> bytes:
    """SHA-256 of the payload: a short name for an anchored tree head."""
    return hashlib.sha256(payload).digest()


def parse_payload(data: bytes) -> Checkpoint:
    """The tree head an anchor payload names; AnchorError if `data` is not exactly one."""
    if not data.startswith(MAGIC):
        raise AnchorError("the transaction's data is not a dangol anchor payload")
    try:
        head = Checkpoint.parse(data[len(MAGIC):].decode("utf-8"))
    except (UnicodeDecodeError, NoteError) as error:
        raise AnchorError(f"the anchor payload is malformed: {error}") from None
    if anchor_payload(head) != data:  # extension lines, or anything a writer would not produce
        raise AnchorError("the anchor payload is not in canonical form")
    return head


def compare(anchored: Checkpoint, checkpoint: Checkpoint) -> None:
    """Raises AnchorError naming the first field in which the anchored tree head differs
    from `checkpoint`'s (extensions are not anchored, so they are not compared)."""
    if anchored.origin != checkpoint.origin:
        raise AnchorError(f"the anchor is of log {anchored.origin!r}, not {checkpoint.origin!r}")
    if anchored.size != checkpoint.size:
        raise AnchorError(f"the anchor is of tree size {anchored.size}, not {checkpoint.size}")
    if anchored.root_hash != checkpoint.root_hash:
        raise AnchorError(f"the anchor's root hash {anchored.root_hash.hex()} differs from the checkpoint's "
                          f"{checkpoint.root_hash.hex()} at tree size {checkpoint.size}")
