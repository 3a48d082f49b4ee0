"""Members own their data: the pure core of personal data kept apart from the ledger.

- `envelope`: AES-256-GCM sealing, per-member data keys wrapped by key-encryption keys;
- `key_ring`: the key-encryption keys (a ring with one current key) and the provider
  interface a KMS implements;
- `fields`: the personal fields a program keeps and their validation;
- `consent`: purposes, a member's consent to each and how it changed;
- `erasure`: what erasing a member rewrites, and when retention makes it due;
- `archive`: a member's export as one archive of JSON and CSV.

The standard library, `cryptography` and the domain only: no I/O, no framework."""

from .consent import ConsentChange, ConsentRecord, ConsentSource, Purpose
from .envelope import DATA_KEY_SIZE, SealError, new_data_key, open_sealed, seal
from .fields import DEFAULT_FIELDS, FieldKind, InvalidPersonalData, PersonalFields
from .key_ring import KeyProvider, KeyRing, KeyRingError

__all__ = [
    "ConsentChange", "ConsentRecord", "ConsentSource", "DATA_KEY_SIZE", "DEFAULT_FIELDS", "FieldKind",
    "InvalidPersonalData", "KeyProvider", "KeyRing", "KeyRingError", "PersonalFields", "Purpose", "SealError",
    "new_data_key", "open_sealed", "seal",
]
