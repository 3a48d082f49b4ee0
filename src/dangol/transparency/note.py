"""C2SP signed notes (https://c2sp.org/signed-note, v1.0.0): a text ending in a newline,
a blank line, then signature lines `— <key name> <base64(key ID || signature)>`.

The format is independent of the signature algorithm: a Signer or Verifier says which
(name, key ID) it stands for and signs or checks bytes; keys.py has the Ed25519 ones.
Parsing is strict, and verification follows the spec's rules: signatures from unknown
keys are ignored, a failing signature from a known key rejects the whole note, and a note
with no verified signature from a known key is rejected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

EM_DASH = "\u2014"
SIGNATURE_PREFIX = EM_DASH + " "
# The spec asks verifiers to bound a note and to accept at least 16 signatures of up to
# about 5 kB (post-quantum ones): these limits leave room for that and little more.
MAX_NOTE_BYTES = 256 * 1024
MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A note that is malformed, or whose signatures do not verify."""


def utf8(text: str, what: str) -> bytes:
    """Notes are UTF-8: a string that has no UTF-8 form (lone surrogates) is refused."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise NoteError(f"{what} is not valid Unicode") from error


def check_key_name(name: str) -> None:
    """Key names are non-empty, with no Unicode space and no '+' (which separates the
    fields of a verifier key); control characters are banned from notes altogether."""
    if not name:
        raise NoteError("a key name is not empty")
    if any(c == "+" or c.isspace() or c < " " for c in name):
        raise NoteError(f"key name {name!r} has a space, a control character or a '+'")
    utf8(name, "a key name")


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    """The spec's recommended (and, for Ed25519, required) key ID:
    SHA-256(key name || 0x0A || signature type || public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def b64decode_strict(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 §4) with padding, refusing anything a canonical
    encoder would not have written (stray characters, non-zero trailing bits)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise NoteError(f"{what} is not valid base64") from error
    if base64.b64encode(raw).decode() != text:
        raise NoteError(f"{what} is not canonical base64")
    return raw


class Verifier(Protocol):
    """Checks signatures of one key: the (name, key_id) pair is how notes refer to it."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, text: bytes, signature: bytes) -> bool: ...


class Signer(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, text: bytes) -> bytes: ...


@dataclass(frozen=True)
class Signature:
    """One signature line: `signature` is what follows the 4-byte key ID."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True)
class Note:
    """A note as written: its text (with the final newline) and its signature lines,
    none of them verified yet."""

    text: str
    signatures: tuple[Signature, ...]

    def encode(self) -> bytes:
        if not self.signatures:
            raise NoteError("a signed note has at least one signature")
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode()


@dataclass(frozen=True)
class VerifiedNote:
    text: str
    verified: tuple[Signature, ...]  # by known keys, each checked
    unverified: tuple[Signature, ...]  # by keys the caller does not know, ignored


def check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    if any(c < " " and c != "\n" for c in text):
        raise NoteError("a note has no control character other than newline")
    if len(utf8(text, "a note's text")) > MAX_NOTE_BYTES:
        raise NoteError("the note's text is too long")


def parse(data: bytes | str) -> Note:
    """Splits a signed note into its text and signature lines, strictly; checks no
    signature (see open_note)."""
    raw = utf8(data, "a note") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_NOTE_BYTES:
        raise NoteError(f"a note is at most {MAX_NOTE_BYTES} bytes")
    try:
        message = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NoteError("a note is UTF-8") from error
    if any(c < " " and c != "\n" for c in message):
        raise NoteError("a note has no control character other than newline")
    # The text may hold blank lines itself: the last one separates it from the signatures.
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("a note has a blank line before its signatures")
    text, block = message[:split + 1], message[split + 2:]
    if not block.endswith("\n"):
        raise NoteError("a note ends with a newline after signature lines")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note has at most {MAX_SIGNATURES} signatures")
    return Note(text, tuple(_parse_signature_line(line) for line in lines))


def _parse_signature_line(line: str) -> Signature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError("a signature line starts with an em dash and a space")
    fields = line[len(SIGNATURE_PREFIX):].split(" ")
    if len(fields) != 2:
        raise NoteError("a signature line is a key name and a signature, separated by one space")
    name, encoded = fields
    check_key_name(name)
    blob = b64decode_strict(encoded, f"the signature by {name}")
    if len(blob) < 5:
        raise NoteError(f"the signature by {name} is shorter than a key ID and a signature")
    return Signature(name, int.from_bytes(blob[:4], "big"), blob[4:])


def sign(text: str, signers: Iterable[Signer]) -> bytes:
    """A signed note of `text` with a signature by each signer."""
    return add_signatures(Note(text, ()), signers).encode()


def add_signatures(note: Note, signers: Iterable[Signer]) -> Note:
    """The note with more signatures on the same text (as a witness adds its cosignature),
    replacing any earlier signature by the same key."""
    check_text(note.text)
    text = note.text.encode()
    new = [Signature(s.name, s.key_id, s.sign(text)) for s in signers]
    for s in new:
        check_key_name(s.name)
    keys = {(s.name, s.key_id) for s in new}
    kept = tuple(s for s in note.signatures if (s.name, s.key_id) not in keys)
    return Note(note.text, kept + tuple(new))


def open_note(data: bytes | str, verifiers: Iterable[Verifier]) -> VerifiedNote:
    """Parses a note and checks its signatures against the keys the caller trusts."""
    known: dict[tuple[str, int], Verifier] = {}
    for v in verifiers:
        if (v.name, v.key_id) in known:
            raise ValueError(f"two verifiers for key {v.name}+{v.key_id:08x}")
        known[(v.name, v.key_id)] = v
    note = parse(data)
    text = note.text.encode()
    verified: list[Signature] = []
    unverified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            # Unknown keys, even those sharing a name or a key ID with a known one, are ignored.
            if sig not in unverified:
                unverified.append(sig)
            continue
        if (sig.name, sig.key_id) in seen:
            raise NoteError(f"two signatures by key {sig.name}+{sig.key_id:08x}")
        seen.add((sig.name, sig.key_id))
        if not verifier.verify(text, sig.signature):
            raise NoteError(f"the signature by {sig.name}+{sig.key_id:08x} does not verify")
        verified.append(sig)
    if not verified:
        raise NoteError("no signature by a known key")
    return VerifiedNote(note.text, tuple(verified), tuple(unverified))
