"""Key-encryption keys (KEKs): what wraps the members' data keys.

`KeyProvider` is the interface: wrap a data key under the current KEK, unwrap one under
the KEK it names. dangol's own provider is a `KeyRing` of local AES-256 keys (read from a
key file or the environment, see service/privacy/keys.py); a brand that keeps its keys in
a KMS implements the same three methods with the KMS's encrypt and decrypt calls.

A ring has one current key, which wraps every new data key, and may hold older ones, which
only unwrap. Rotation adds a new current key, re-wraps every data key wrapped by an older
one, and then retires the older ones: the data is never re-encrypted.

A ring's text is one key a line, `<id>:<base64 of 32 bytes>`; blank lines and lines
starting with `#` are ignored; the last key is the current one. In an environment variable
the keys may be separated by commas instead."""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

from .envelope import DATA_KEY_SIZE, SealError, open_sealed, seal

KEK_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class KeyRingError(ValueError):
    """A ring that cannot be read, or a data key wrapped by a KEK the ring does not hold."""


class KeyProvider(Protocol):
    def current_kek(self) -> str:
        """The id of the KEK that wraps new data keys."""
        ...

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        """(the KEK's id, the data key wrapped by it), bound to `context`."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        """The data key; KeyRingError if the KEK is unknown or the wrapped key does not open."""
        ...


@dataclass(frozen=True)
class KeyRing:
    """Local KEKs, oldest first; the last is current."""

    keys: Mapping[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyRingError("a key ring holds at least one key")
        for kek_id, key in self.keys.items():
            if not KEK_ID.match(kek_id):
                raise KeyRingError(f"key id {kek_id!r}: 1 to 64 letters, digits, '.', '_' or '-'")
            if len(key) != DATA_KEY_SIZE:
                raise KeyRingError(f"key {kek_id}: a key-encryption key is {DATA_KEY_SIZE} bytes")

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        keys: dict[str, bytes] = {}
        for number, line in enumerate(re.split(r"[\n,]", text), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            kek_id, colon, encoded = line.partition(":")
            if not colon:
                raise KeyRingError(f"key {number}: expected <id>:<base64 key>")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except binascii.Error:
                raise KeyRingError(f"key {kek_id.strip()}: not base64") from None
            if kek_id.strip() in keys:
                raise KeyRingError(f"key {kek_id.strip()} appears twice")
            keys[kek_id.strip()] = key
        if not keys:
            raise KeyRingError("no key-encryption key in the key ring")
        return cls(keys)

    @classmethod
    def generate(cls, now: datetime | None = None) -> KeyRing:
        return cls({new_kek_id(now): os.urandom(DATA_KEY_SIZE)})

    def encode(self) -> str:
        lines = [f"{kek_id}:{base64.b64encode(key).decode()}" for kek_id, key in self.keys.items()]
        return "\n".join(lines) + "\n"

    def with_new_key(self, now: datetime | None = None) -> KeyRing:
        """This ring with a fresh current key; the others stay to unwrap until retired."""
        kek_id = new_kek_id(now)
        while kek_id in self.keys:
            kek_id = new_kek_id(now)
        return KeyRing({**self.keys, kek_id: os.urandom(DATA_KEY_SIZE)})

    def without(self, retired: set[str]) -> KeyRing:
        if self.current_kek() in retired:
            raise KeyRingError("the current key cannot be retired")
        return KeyRing({k: v for k, v in self.keys.items() if k not in retired})

    # ------------------------------------------------------------ the provider

    def current_kek(self) -> str:
        return list(self.keys)[-1]

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        kek_id = self.current_kek()
        return kek_id, seal(self.keys[kek_id], data_key, context)

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        key = self.keys.get(kek_id)
        if key is None:
            raise KeyRingError(f"the data key was wrapped by key {kek_id!r}, which the key ring does not hold")
        try:
            return open_sealed(key, wrapped, context)
        except SealError:
            raise KeyRingError(f"a data key does not unwrap with key {kek_id!r}") from None


def new_kek_id(now: datetime | None = None) -> str:
    """`kek-<UTC time>-<random>`: sortable by when it was made, and unique."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"kek-{moment:%Y%m%dT%H%M%SZ}-{os.urandom(3).hex()}"
