"""Staff second-factor secrets, sealed at rest with the installation's key-encryption keys
(the same provider that wraps the members' data keys, service/privacy/keys.py): a copy of
the database alone gives no one a staff member's codes.

Envelope encryption, as for members' data: each secret is sealed (AES-256-GCM) with a data
key of its own, and that data key is kept only wrapped by the current key-encryption key.
Both are bound to the account's id, so a sealed secret copied onto another account does not
open. The column holds `v1:<kek id>:<base64 wrapped key>:<base64 sealed secret>`.

Rotation re-wraps the data keys (never the secrets); `kek_usage` counts the key-encryption
keys in use, so that a key still wrapping a staff secret is never retired."""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from dataclasses import replace

from sqlalchemy import Connection

from ...privacy.envelope import SealError, new_data_key, open_sealed, seal
from ...privacy.key_ring import KeyProvider, KeyRingError
from ...staff.accounts import StaffAccount
from ...storage.staff_repository import StaffRepository
from ..privacy.keys import DataKeys, DataKeysUnavailable

VERSION = "v1"
CONTEXT = b"dangol/staff-totp/v1\n"


def _context(staff_id: str) -> bytes:
    return CONTEXT + staff_id.encode()


def _parts(stored: str) -> tuple[str, bytes, bytes]:
    version, kek_id, wrapped, sealed = (stored.split(":") + ["", "", ""])[:4]
    if version != VERSION:
        raise DataKeysUnavailable("a staff second-factor secret is not sealed (v1 expected)")
    try:
        return kek_id, base64.b64decode(wrapped, validate=True), base64.b64decode(sealed, validate=True)
    except binascii.Error:
        raise DataKeysUnavailable("a staff second-factor secret is damaged") from None


def kek_of(stored: str) -> str:
    return _parts(stored)[0]


class TotpVault:
    def __init__(self, keys: DataKeys) -> None:
        self.keys = keys

    @property
    def provider(self) -> KeyProvider:
        return self.keys.provider

    def seal(self, staff_id: str, secret: str) -> str:
        context = _context(staff_id)
        data_key = new_data_key()
        try:
            kek_id, wrapped = self.provider.wrap(data_key, context)
        except KeyRingError as error:
            raise DataKeysUnavailable(f"{self.keys.settings.describe()}: {error}") from None
        sealed = seal(data_key, secret.encode(), context)
        return ":".join((VERSION, kek_id, base64.b64encode(wrapped).decode(), base64.b64encode(sealed).decode()))

    def open(self, staff_id: str, stored: str) -> str:
        kek_id, wrapped, sealed = _parts(stored)
        context = _context(staff_id)
        try:
            data_key = self.provider.unwrap(kek_id, wrapped, context)
            return open_sealed(data_key, sealed, context).decode()
        except (KeyRingError, SealError) as error:
            raise DataKeysUnavailable(f"a staff second-factor secret does not open: {error}") from None

    def sealed(self, account: StaffAccount) -> StaffAccount:
        """The account as stored: its secret sealed."""
        secret = account.totp_secret
        return account if secret is None else replace(account, totp_secret=self.seal(account.id, secret))

    def opened(self, account: StaffAccount) -> StaffAccount:
        """The account as loaded, with its secret readable (for checking a code only)."""
        secret = account.totp_secret
        return account if secret is None else replace(account, totp_secret=self.open(account.id, secret))

    def rewrap(self, conn: Connection) -> int:
        """Re-wraps every staff data key not wrapped by the current key-encryption key, in
        the caller's transaction; answers how many."""
        repo, provider = StaffRepository(conn), self.provider
        current, changed = provider.current_kek(), 0
        for account in repo.accounts():
            stored = account.totp_secret
            if stored is None or kek_of(stored) == current:
                continue
            kek_id, wrapped, sealed = _parts(stored)
            context = _context(account.id)
            try:
                data_key = provider.unwrap(kek_id, wrapped, context)
                new_kek, rewrapped = provider.wrap(data_key, context)
            except KeyRingError as error:
                raise DataKeysUnavailable(f"staff account {account.username}: {error}") from None
            repo.save(replace(account, totp_secret=":".join((
                VERSION, new_kek, base64.b64encode(rewrapped).decode(), base64.b64encode(sealed).decode()))))
            changed += 1
        return changed

    def kek_usage(self, conn: Connection) -> dict[str, int]:
        """Key-encryption key -> staff secrets whose data key it wraps."""
        return dict(Counter(kek_of(a.totp_secret) for a in StaffRepository(conn).accounts() if a.totp_secret))
