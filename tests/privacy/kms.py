"""A stand-in for a brand's KMS, plugged in as `DANGOL_KEY_PROVIDER=privacy.kms:provider`:
it keeps its one key to itself and counts what it is asked, as a KMS's audit trail would."""

from __future__ import annotations

import os

from dangol.privacy import KeyRing

CALLS: list[str] = []
_RING = KeyRing({"kms-key-1": os.urandom(32)})


class FakeKms:
    def current_kek(self) -> str:
        return "kms-key-1"

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        CALLS.append("encrypt")
        return _RING.wrap(data_key, context)

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        CALLS.append("decrypt")
        return _RING.unwrap(kek_id, wrapped, context)


def provider() -> FakeKms:
    return FakeKms()
