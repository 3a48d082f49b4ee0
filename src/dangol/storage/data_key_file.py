"""The key-encryption keys on disk: a key ring file (privacy/key_ring.py's text, one key a
line, the last current), readable by its owner only. Created with one key on first use when
absent, as the log's key is.

`FileKeyRing` is the provider over such a file that every process of a deployment shares.
It notices when the file changed (another process rotated the keys) before it wraps a
data key, and when it meets a key it does not hold: so a server keeps running through a
rotation, wrapping new data keys with the new key and reading keys re-wrapped under it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..privacy.key_ring import KeyRing, KeyRingError

HEADER = ("# dangol key-encryption keys: they wrap members' data keys. The last key is current.\n"
          "# Losing this file makes every member's personal data unreadable: back it up apart\n"
          "# from the database (see docs/privacy.md).\n")


def read_ring(path: Path) -> KeyRing:
    try:
        return KeyRing.parse(path.read_text())
    except OSError as error:
        raise KeyRingError(f"the key file {path} cannot be read: {error.strerror or error}") from None
    except KeyRingError as error:
        raise KeyRingError(f"the key file {path}: {error}") from None


def write_ring(path: Path, ring: KeyRing, *, create: bool = False) -> bool:
    """Writes the ring under another name and renames it into place, so a reader never sees
    half a file. `create`: only if there is no file yet (returns False if another process
    made one first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(HEADER + ring.encode())
        handle.flush()
        os.fsync(handle.fileno())
    if create:
        try:
            os.link(temporary, path)  # fails if another process made it first
        except FileExistsError:
            return False
        finally:
            os.unlink(temporary)
        return True
    os.replace(temporary, path)
    return True


def load_or_create(path: Path) -> KeyRing:
    if not path.exists():
        write_ring(path, KeyRing.generate(), create=True)
    return read_ring(path)


class FileKeyRing:
    """A KeyProvider over a key file, re-read when it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ring: KeyRing | None = None
        self._stamp: tuple[int, int, int] | None = None

    def ring(self) -> KeyRing:
        """The ring as the file holds it now (re-read if it changed since last time)."""
        with self._lock:
            try:
                stat = self.path.stat()
            except FileNotFoundError:
                stat = None
            stamp = None if stat is None else (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if self._ring is None or stamp != self._stamp:
                self._ring = load_or_create(self.path) if stat is None else read_ring(self.path)
                stat = self.path.stat()
                self._stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            return self._ring

    def current_kek(self) -> str:
        return self.ring().current_kek()

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        return self.ring().wrap(data_key, context)

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        return self.ring().unwrap(kek_id, wrapped, context)

    def add_key(self) -> str:
        """Adds a new current key to the file; returns its id."""
        ring = self.ring().with_new_key()
        write_ring(self.path, ring)
        return ring.current_kek()

    def retire(self, kek_ids: set[str]) -> None:
        write_ring(self.path, self.ring().without(kek_ids))
