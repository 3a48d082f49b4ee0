"""Members' data keys: made on first need, wrapped by the key provider, unwrapped to seal or
open a member's personal data; and the rotation of the key-encryption keys.

Where the key-encryption keys come from (the first that is set):
- `DANGOL_KEY_PROVIDER=package.module:factory`: a brand's own provider (a KMS); the factory
  is called with no arguments and returns a `privacy.key_ring.KeyProvider`;
- `DANGOL_DATA_KEYS`: the key ring itself, `<id>:<base64>` separated by commas or newlines,
  the last current (for a secret store that fills the environment);
- `DANGOL_DATA_KEY_FILE`: a key ring file;
- by default a key ring file next to a SQLite database (`var/dangol.db` ->
  `var/dangol-data.key`), or `dangol-data.key` in the working directory for PostgreSQL,
  made with one key on first use. A database in memory gets a ring in memory.

Rotation re-wraps (unwrap with the old key, wrap with the current one) in committed batches
while the servers run: they read the key file again when it changes, so each wraps new
data keys with the new key and opens keys already re-wrapped."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import os
from collections.abc import Callable
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from ...domain.errors import DomainError, InvalidRequest
from ...privacy.envelope import DATA_KEY_SIZE, data_key_context, new_data_key
from ...privacy.key_ring import KeyProvider, KeyRing, KeyRingError
from ...storage.data_key_file import FileKeyRing
from ...storage.database import Database
from ...storage.privacy_repository import PrivacyRepository, WrappedKey

PROVIDER_ENV = "DANGOL_KEY_PROVIDER"
KEYS_ENV = "DANGOL_DATA_KEYS"
KEY_FILE_ENV = "DANGOL_DATA_KEY_FILE"
REWRAP_BATCH = 500


class DataKeysUnavailable(DomainError):
    """The key-encryption keys cannot be read, or do not open a member's data key: nothing
    personal can be read or written until the operator fixes the key configuration."""

    code = "data-keys-unavailable"
    title = "Members' data keys are unavailable"


@dataclass(frozen=True, slots=True)
class DataKeySettings:
    key_file: Path | None = None
    inline: str | None = None
    provider: str | None = None  # "module:factory"

    @classmethod
    def for_database(cls, url: str, env: dict[str, str] | None = None) -> DataKeySettings:
        env = dict(os.environ) if env is None else env
        if env.get(PROVIDER_ENV):
            return cls(provider=env[PROVIDER_ENV])
        if env.get(KEYS_ENV):
            return cls(inline=env[KEYS_ENV])
        if env.get(KEY_FILE_ENV):
            return cls(key_file=Path(env[KEY_FILE_ENV]))
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database in (None, "", ":memory:"):
                return cls()
            path = Path(parsed.database)
            return cls(key_file=path.with_name(path.stem + "-data.key"))
        return cls(key_file=Path("dangol-data.key"))

    def describe(self) -> str:
        if self.provider:
            return f"the key provider {self.provider} ({PROVIDER_ENV})"
        if self.inline:
            return f"the key ring in {KEYS_ENV}"
        if self.key_file:
            return f"the key file {self.key_file}"
        return "a key ring in memory"

    def open(self) -> KeyProvider:
        if self.provider:
            module, _, name = self.provider.partition(":")
            try:
                factory: Callable[[], KeyProvider] = getattr(importlib.import_module(module), name)
                return factory()
            except (ImportError, AttributeError, ValueError) as error:
                raise DataKeysUnavailable(f"{PROVIDER_ENV}={self.provider!r} names no key provider factory "
                                          f"(module:function): {error}") from None
        if self.inline:
            return KeyRing.parse(self.inline)
        if self.key_file:
            return FileKeyRing(self.key_file)
        return KeyRing.generate()


@dataclass
class RewrapReport:
    current: str
    rewrapped: int = 0
    by_key: dict[str, int] = field(default_factory=dict)  # key-encryption key -> data keys it still wraps
    retired: list[str] = field(default_factory=list)
    added: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"current": self.current, "added": self.added, "rewrapped": self.rewrapped,
                "keys_in_use": dict(sorted(self.by_key.items())), "retired": self.retired}


class WrappedElsewhere(Protocol):
    """Other keys the key-encryption keys wrap (the staff's second-factor secrets): re-wrapped
    with the members' data keys, and counted so that a key in use is never retired."""

    def rewrap(self, conn: Connection) -> int: ...

    def kek_usage(self, conn: Connection) -> dict[str, int]: ...


class DataKeys:
    def __init__(self, db: Database, settings: DataKeySettings | None = None,
                 provider: KeyProvider | None = None) -> None:
        self.db = db
        self.settings = settings or DataKeySettings.for_database(db.url.render_as_string(hide_password=False))
        self._provider = provider
        self.elsewhere: list[WrappedElsewhere] = []

    def _usage(self, conn: Connection) -> dict[str, int]:
        usage = Counter(PrivacyRepository(conn).kek_usage())
        for other in self.elsewhere:
            usage.update(other.kek_usage(conn))
        return dict(usage)

    @property
    def provider(self) -> KeyProvider:
        if self._provider is None:
            try:
                self._provider = self.settings.open()
            except (KeyRingError, OSError) as error:
                raise DataKeysUnavailable(f"{self.settings.describe()}: {error}") from None
        return self._provider

    # ------------------------------------------------------------ a member's key

    def member_key(self, conn: Connection, program_id: str, member_id: str,
                   create_at: datetime | None = None) -> bytes | None:
        """The member's data key; None when they have none, unless `create_at` is given: then
        one is made, wrapped and stored (in the caller's transaction) as of that time."""
        repo = PrivacyRepository(conn)
        context = data_key_context(program_id, member_id)
        stored = repo.wrapped_key(member_id)
        try:
            if stored is not None:
                return self.provider.unwrap(stored.kek_id, stored.wrapped, context)
            if create_at is None:
                return None
            key = new_data_key()
            kek_id, wrapped = self.provider.wrap(key, context)
        except KeyRingError as error:
            raise DataKeysUnavailable(f"{self.settings.describe()}: {error}") from None
        repo.add_wrapped_key(WrappedKey(member_id, program_id, kek_id, wrapped), create_at)
        return key

    # ------------------------------------------------------------ rotation

    def rewrap(self, batch: int = REWRAP_BATCH, progress: Callable[[int], None] | None = None) -> RewrapReport:
        """Re-wraps every data key not wrapped by the current key-encryption key, a batch per
        committed transaction, in two sweeps by member id: the second takes what processes
        that had not seen the new key yet wrapped during the first. (A file's readers see it
        before their next wrap; a provider that does not reload may leave some: `by_key`
        says how many, and the old key cannot be retired while it wraps any.)"""
        provider = self.provider
        report = RewrapReport(provider.current_kek())
        for _sweep in range(2):
            after: str | None = None
            while True:
                with self.db.write() as conn:
                    repo = PrivacyRepository(conn)
                    current = provider.current_kek()
                    rows = repo.keys_not_wrapped_by(current, after, batch, lock=True)
                    if not rows:
                        break
                    changed = []
                    for row in rows:
                        context = data_key_context(row.program_id, row.member_id)
                        try:
                            key = provider.unwrap(row.kek_id, row.wrapped, context)
                            kek_id, wrapped = provider.wrap(key, context)
                        except KeyRingError as error:
                            raise DataKeysUnavailable(f"member {row.member_id}: {error}") from None
                        changed.append((kek_id, wrapped, row.member_id))
                    repo.rewrap(changed)
                after = rows[-1].member_id
                report.rewrapped += len(changed)
                if progress is not None:
                    progress(len(changed))
        for other in self.elsewhere:
            with self.db.write() as conn:
                report.rewrapped += other.rewrap(conn)
        with self.db.read() as conn:
            report.by_key = self._usage(conn)
        report.current = provider.current_kek()
        return report

    def rotate(self, progress: Callable[[int], None] | None = None) -> RewrapReport:
        """A new current key in the key file, then every data key re-wrapped by it."""
        provider = self._file_ring("rotate")
        added = provider.add_key()
        report = self.rewrap(progress=progress)
        report.added = added
        return report

    def retire(self) -> RewrapReport:
        """Removes from the key file the keys that wrap no data key any more (the current
        one stays). A key still in use stays: re-wrap first."""
        provider = self._file_ring("retire keys of")
        ring = provider.ring()
        with self.db.read() as conn:
            used = self._usage(conn)
        unused = {kek_id for kek_id in ring.keys if kek_id != ring.current_kek() and not used.get(kek_id)}
        if unused:
            provider.retire(unused)
        return RewrapReport(ring.current_kek(), by_key=used, retired=sorted(unused))

    def _file_ring(self, verb: str) -> FileKeyRing:
        provider = self.provider
        if not isinstance(provider, FileKeyRing):
            raise InvalidRequest(f"dangol can only {verb} a key file; {self.settings.describe()} is rotated where it "
                                 "is kept (add the new key last, restart, then run `dangol privacy rewrap`)")
        return provider


def request_digest(key: bytes, canonical: bytes) -> str:
    """A request's fingerprint keyed by the member's data key: it says whether a retry is the
    same request, and once the key is destroyed it says nothing about what was sent."""
    if len(key) != DATA_KEY_SIZE:
        raise ValueError("a data key is 32 bytes")
    return hmac.new(key, b"dangol/request/v1\n" + canonical, hashlib.sha256).hexdigest()

