"""A request's fingerprint: what makes "the same key with the same body" decidable.

Commands and policies are frozen dataclasses of strings, integers, enums, datetimes and
other such dataclasses, whose `repr` is canonical: equal values, equal text. Hashing the
repr is several times cheaper than a canonical JSON encoding, and this runs per event."""

from __future__ import annotations

import hashlib
from typing import Any


def fingerprint(value: Any) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:32]
