"""C2SP tlog-cosignature v1 for Ed25519 (https://c2sp.org/tlog-cosignature): a witness's
timestamped statement that a checkpoint is the largest consistent one it has seen.

A cosignature is a note signature of type 0x04 whose bytes (after the key ID) are the
`timestamped_signature` struct: an 8-byte big-endian POSIX timestamp, then the Ed25519
signature of "cosignature/v1\\ntime <timestamp>\\n" followed by the checkpoint body.
"""

from __future__ import annotations

from .note import NoteError, Signature

HEADER = b"cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1  # the spec's bound
ED25519_SIGNATURE_SIZE = 64
SIGNATURE_SIZE = 8 + ED25519_SIGNATURE_SIZE


def signed_message(body: bytes, timestamp: int) -> bytes:
    """What the cosigner signs: the header line, the time line (ASCII decimal, no
    leading zeros) and the whole checkpoint body including extension lines."""
    check_timestamp(timestamp)
    return HEADER + b"time %d\n" % timestamp + body


def check_timestamp(timestamp: int) -> None:
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"a cosignature timestamp is between 0 and 2^63 - 1, not {timestamp}")


def encode(timestamp: int, ed25519_signature: bytes) -> bytes:
    check_timestamp(timestamp)
    if len(ed25519_signature) != ED25519_SIGNATURE_SIZE:
        raise NoteError("an Ed25519 signature is 64 bytes")
    return timestamp.to_bytes(8, "big") + ed25519_signature


def decode(signature: bytes) -> tuple[int, bytes]:
    """(timestamp, Ed25519 signature) of a cosignature's bytes."""
    if len(signature) != SIGNATURE_SIZE:
        raise NoteError(f"an Ed25519 cosignature is {SIGNATURE_SIZE} bytes, not {len(signature)}")
    timestamp = int.from_bytes(signature[:8], "big")
    check_timestamp(timestamp)
    return timestamp, signature[8:]


def timestamp(signature: Signature) -> int:
    """When a (verified) cosignature says it was made, in seconds since the epoch."""
    return decode(signature.signature)[0]
