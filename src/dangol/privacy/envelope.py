"""Envelope encryption: each member's personal data is sealed with a data key of their own
(AES-256-GCM), and that data key is kept only wrapped by a key-encryption key (KEK).

Destroying the wrapped data key destroys every copy of the data it sealed, wherever
those copies are (a backup, a free page of the database file): crypto-shredding. Rotating
the KEK re-wraps 32-byte data keys and never touches the data itself.

Each sealed value is bound to what it belongs to (its associated data names the program,
the member and the kind of value), so a sealed value copied onto another member's row,
or a data key onto another member's, does not open."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DATA_KEY_SIZE = 32  # AES-256
NONCE_SIZE = 12  # GCM's 96-bit nonce, random per sealing (2^32 sealings per key stay far below the bound)
DATA_KEY_CONTEXT = b"dangol/data-key/v1\n"
RECORD_CONTEXT = b"dangol/personal-data/v1\n"


class SealError(ValueError):
    """A sealed value that does not open with this key and context: the wrong key, or
    bytes that were changed."""


def new_data_key() -> bytes:
    return os.urandom(DATA_KEY_SIZE)


def seal(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """nonce || ciphertext || tag."""
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def open_sealed(key: bytes, sealed: bytes, context: bytes) -> bytes:
    if len(sealed) < NONCE_SIZE + 16:
        raise SealError("the sealed value is too short")
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], context)
    except InvalidTag:
        raise SealError("the sealed value does not open with this key") from None


def member_context(kind: bytes, program_id: str, member_id: str) -> bytes:
    return kind + program_id.encode() + b"\n" + member_id.encode()


def data_key_context(program_id: str, member_id: str) -> bytes:
    """What a wrapped data key is bound to."""
    return member_context(DATA_KEY_CONTEXT, program_id, member_id)


def record_context(program_id: str, member_id: str) -> bytes:
    """What a member's sealed personal data is bound to."""
    return member_context(RECORD_CONTEXT, program_id, member_id)
