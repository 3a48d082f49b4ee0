"""Ed25519 keys for signed notes: the log's checkpoint key (signature type 0x01) and a
witness's cosigning key (type 0x04), in the text encodings other implementations use.

- verifier key (vkey, c2sp.org/signed-note "Verifier keys"):
  `<name>+<key ID, 8 lowercase hex digits>+<base64(type byte || 32-byte public key)>`
- signer key (golang.org/x/mod/sumdb/note's encoding, also read by transparency-dev
  tools): `PRIVATE+KEY+<name>+<key ID>+<base64(type byte || 32-byte private seed)>`.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from . import cosignature
from .note import NoteError, b64decode_strict, check_key_name, key_id

SIG_ED25519 = 0x01  # signed-note: Ed25519 over the note text
SIG_COSIGNATURE_V1 = 0x04  # tlog-cosignature: timestamped Ed25519 over a checkpoint
SIGNATURE_TYPES = (SIG_ED25519, SIG_COSIGNATURE_V1)
ED25519_KEY_SIZE = 32
SKEY_PREFIX = "PRIVATE+KEY+"
_KEY_ID = re.compile(r"[0-9a-f]{8}")


def _check_type(sig_type: int) -> None:
    if sig_type not in SIGNATURE_TYPES:
        raise NoteError(f"signature type {sig_type:#04x} is not one dangol supports (0x01, 0x04)")


def _decode_key(encoded: str, what: str) -> tuple[str, int, int, bytes]:
    """(name, key ID, type, key bytes) of `<name>+<hex key ID>+<base64(type || key)>`."""
    fields = encoded.split("+", 2)  # the name has no '+'; base64 may
    if len(fields) != 3:
        raise NoteError(f"a {what} is name+keyid+key")
    name, hex_id, material = fields
    check_key_name(name)
    if not _KEY_ID.fullmatch(hex_id):
        raise NoteError(f"a {what}'s key ID is 8 lowercase hex digits")
    raw = b64decode_strict(material, f"the {what}'s key")
    if len(raw) != 1 + ED25519_KEY_SIZE:
        raise NoteError(f"a {what} holds a type byte and a 32-byte Ed25519 key")
    _check_type(raw[0])
    return name, int(hex_id, 16), raw[0], raw[1:]


def _encode_key(name: str, ident: int, sig_type: int, key: bytes) -> str:
    return f"{name}+{ident:08x}+{base64.b64encode(bytes([sig_type]) + key).decode()}"


@dataclass(frozen=True)
class VerifierKey:
    """A public key that checks note signatures of one type (a note.Verifier)."""

    name: str
    sig_type: int
    public_key: bytes
    key_id: int = field(init=False)
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _check_type(self.sig_type)
        if len(self.public_key) != ED25519_KEY_SIZE:
            raise NoteError("an Ed25519 public key is 32 bytes")
        object.__setattr__(self, "key_id", key_id(self.name, self.sig_type, self.public_key))
        object.__setattr__(self, "_key", Ed25519PublicKey.from_public_bytes(self.public_key))

    @classmethod
    def parse(cls, vkey: str) -> VerifierKey:
        name, ident, sig_type, public_key = _decode_key(vkey, "verifier key")
        key = cls(name, sig_type, public_key)
        if key.key_id != ident:  # the ID is derived, never taken on trust
            raise NoteError(f"verifier key {name}: key ID {ident:08x} does not match the key ({key.key_id:08x})")
        return key

    def encode(self) -> str:
        return _encode_key(self.name, self.key_id, self.sig_type, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        if self.sig_type == SIG_COSIGNATURE_V1:
            try:
                timestamp, signature = cosignature.decode(signature)
            except NoteError:
                return False
            text = cosignature.signed_message(text, timestamp)
        try:
            self._key.verify(signature, text)
        except InvalidSignature:
            return False
        return True


def _now() -> int:
    return int(time.time())


@dataclass(frozen=True)
class SignerKey:
    """A private key that signs notes of one type (a note.Signer). A cosigner stamps
    each signature with `clock()`, seconds since the epoch."""

    name: str
    sig_type: int
    private_key: Ed25519PrivateKey = field(repr=False)
    clock: Callable[[], int] = field(default=_now, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _check_type(self.sig_type)

    @classmethod
    def generate(cls, name: str, sig_type: int = SIG_ED25519, clock: Callable[[], int] = _now) -> SignerKey:
        return cls(name, sig_type, Ed25519PrivateKey.generate(), clock)

    @classmethod
    def parse(cls, skey: str, clock: Callable[[], int] = _now) -> SignerKey:
        if not skey.startswith(SKEY_PREFIX):
            raise NoteError(f"a signer key starts with {SKEY_PREFIX}")
        name, ident, sig_type, seed = _decode_key(skey[len(SKEY_PREFIX):], "signer key")
        signer = cls(name, sig_type, Ed25519PrivateKey.from_private_bytes(seed), clock)
        if signer.key_id != ident:
            raise NoteError(f"signer key {name}: key ID {ident:08x} does not match the key")
        return signer

    def encode(self) -> str:
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return SKEY_PREFIX + _encode_key(self.name, self.key_id, self.sig_type, seed)

    def verifier(self) -> VerifierKey:
        public = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return VerifierKey(self.name, self.sig_type, public)

    @property
    def key_id(self) -> int:
        return self.verifier().key_id

    def vkey(self) -> str:
        return self.verifier().encode()

    def sign(self, text: bytes) -> bytes:
        if self.sig_type == SIG_COSIGNATURE_V1:
            timestamp = self.clock()
            return cosignature.encode(timestamp, self.private_key.sign(cosignature.signed_message(text, timestamp)))
        return self.private_key.sign(text)
