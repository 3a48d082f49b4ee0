"""The backup file: a tar archive of the database copy and the key files, then
`manifest.json` (made from their digests) and `manifest.json.sha256` (the manifest's own),
last, so that a file cut short lacks them and is refused. Any other damage shows as a
digest that does not match: a restore checks every byte before it changes anything.

Tar, because every operator has a tool that lists and unpacks it; `tarfile` reads it
compressed too (gzip, bzip2, xz), so a backup file may be compressed after it is written."""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import os
import tarfile
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .manifest import BackupError, Manifest, Stored
from .progress import Progress

MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest.json.sha256"
WRITING = "writing the backup file"
CHECKING = "checking the backup file"
_CHUNK = 1 << 20
# What reading a damaged (or not a) tar file, compressed or not, raises.
_DAMAGE = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)


def write(path: Path, files: Sequence[tuple[str, Path]], manifest: Callable[[dict[str, Stored]], Manifest],
          progress: Progress) -> tuple[int, Manifest]:
    """Writes the backup file at `path`, which must not exist: `files` (name inside, file),
    then the manifest made from their digests. Readable by its owner only (it may hold secret
    keys), written under another name and linked into place: a failure leaves nothing behind
    and never replaces a file. Returns its size and its manifest."""
    if path.exists():
        raise BackupError(f"{path} exists already: a backup never replaces a file, choose another name")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    total = sum(source.stat().st_size for _, source in files)
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                stored: dict[str, Stored] = {}
                done = 0
                for name, source in files:
                    with source.open("rb") as handle:
                        reader = _Digesting(handle, _after(progress, done, total))
                        size = source.stat().st_size
                        tar.addfile(_info(name, size), reader)
                    stored[name] = Stored(size, reader.hexdigest())
                    done += size
                written = manifest(stored)
                body = written.to_json()
                tar.addfile(_info(MANIFEST, len(body)), io.BytesIO(body))
                digest = f"{hashlib.sha256(body).hexdigest()}\n".encode()
                tar.addfile(_info(MANIFEST_DIGEST, len(digest)), io.BytesIO(digest))
            raw.flush()
            os.fsync(raw.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise BackupError(f"{path} exists already: a backup never replaces a file, choose another name") from None
        _sync_directory(path.parent)
    finally:
        temporary.unlink(missing_ok=True)
    return path.stat().st_size, written


class Backup:
    """A backup file opened for reading, its manifest checked against its digest."""

    def __init__(self, path: Path, tar: tarfile.TarFile, manifest: Manifest) -> None:
        self.path = path
        self.manifest = manifest
        self._tar = tar

    def extract(self, name: str, destination: Path, progress: Progress) -> None:
        """Copies a file out of the backup, checking its size and digest."""
        stored = self.manifest.files[name]
        with self._member(name) as source, destination.open("wb") as target:
            reader = _Digesting(source, lambda n: progress(CHECKING, n, stored.size))
            while chunk := reader.read(_CHUNK):
                target.write(chunk)
        self._check(name, reader)

    def read(self, name: str) -> bytes:
        """A small file of the backup (a key), checked."""
        with self._member(name) as source:
            reader = _Digesting(source, lambda n: None)
            data = reader.read()
        self._check(name, reader)
        return data

    @contextmanager
    def _member(self, name: str) -> Iterator[IO[bytes]]:
        try:
            handle = self._tar.extractfile(name)
            if handle is None:
                raise BackupError(f"{self.path} is damaged: {name} is not a file")
            with handle:
                yield handle
        except _DAMAGE as error:
            raise BackupError(f"{self.path} is damaged: {name} cannot be read ({error})") from None

    def _check(self, name: str, reader: _Digesting) -> None:
        stored = self.manifest.files[name]
        if reader.count != stored.size or reader.hexdigest() != stored.sha256:
            raise BackupError(f"{self.path} is damaged: {name} does not match its checksum")


@contextmanager
def opened(path: Path) -> Iterator[Backup]:
    """The backup at `path`, or BackupError: no such file, not a backup, cut short, damaged."""
    if not path.exists():
        raise BackupError(f"no backup file at {path}")
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    try:
        tar = tarfile.open(path, "r:*")
    except _DAMAGE:
        raise BackupError(f"{path} is not a dangol backup (not a tar file)") from None
    with tar:
        try:
            members = {member.name: member for member in tar.getmembers()}
        except _DAMAGE as error:
            raise BackupError(f"{path} is cut short or damaged ({error})") from None
        if MANIFEST not in members or MANIFEST_DIGEST not in members:
            raise BackupError(f"{path} is not a complete dangol backup: it has no manifest (a file cut short?)")
        try:
            body, digest = _small(tar, MANIFEST), _small(tar, MANIFEST_DIGEST)
        except _DAMAGE as error:
            raise BackupError(f"{path} is damaged ({error})") from None
        if digest.strip() != hashlib.sha256(body).hexdigest().encode():
            raise BackupError(f"{path} is damaged: its manifest does not match its checksum")
        try:
            manifest = Manifest.from_json(body)
        except BackupError as error:
            raise BackupError(f"{path} is not a dangol backup: {error}") from None
        for name, stored in manifest.files.items():
            member = members.get(name)
            if member is None or not member.isfile() or member.size != stored.size:
                raise BackupError(f"{path} is damaged: {name} is missing or cut short")
        if manifest.database not in manifest.files:
            raise BackupError(f"{path} is damaged: it holds no database")
        yield Backup(path, tar, manifest)


def _after(progress: Progress, done: int, total: int) -> Callable[[int], None]:
    """The bytes of one file, reported after the `done` of the files before it."""
    return lambda count: progress(WRITING, done + count, total)


def _small(tar: tarfile.TarFile, name: str) -> bytes:
    handle = tar.extractfile(name)
    if handle is None:
        raise tarfile.ReadError(f"{name} is not a file")
    with handle:
        return handle.read(1 << 24)


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(time.time())
    return info


def _sync_directory(directory: Path) -> None:
    """The new name survives a power loss (POSIX; other systems have no directory handles)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


class _Digesting:
    """A file read through SHA-256, telling how many bytes went by."""

    def __init__(self, source: IO[bytes], seen: Callable[[int], None]) -> None:
        self._source = source
        self._seen = seen
        self._hash = hashlib.sha256()
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(size)
        self._hash.update(chunk)
        self.count += len(chunk)
        self._seen(self.count)
        return chunk

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
