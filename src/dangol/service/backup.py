"""Backing up a dangol database and restoring it, with the key files that go with it.

A backup is one file (storage/backups): a consistent copy of the database, taken while
the server runs (SQLite's online backup API, PostgreSQL's pg_dump), its manifest, and by
default the key files: the log's signer key, since a log restored without its key can no
longer sign checkpoints that auditors accept, and the members' key-encryption keys (a key
ring file, service/privacy/keys.py), without which no member's personal data in the
restored database can be read. Keys are secrets, so such a backup is too, and says so;
`keys=False` leaves them out, for backups kept where the keys may not go. Keys that come
from the environment or a key provider (a KMS) are no file: they are the operator's to keep.

A restore decides everything before it changes anything: the backup must be whole (every
byte against its digest), of the target's engine, of a schema this dangol knows (an older
one is migrated after the restore, as `dangol init` would; a newer one is refused), into an
empty database unless forced, with no other key already where its key goes. Then the
database is restored in one transaction, the keys written, and the schema migrated."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from alembic.util.exc import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from .. import __version__
from ..domain.clock import Clock, SystemClock
from ..storage.backups import BackupError, Manifest, Progress, Stored, quiet
from ..storage.backups import archive, postgres, sqlite
from ..storage.backups.contents import Contents
from ..storage.backups.manifest import KeyCopy, LogFacts
from ..storage.database import Database
from ..storage.log_key_file import KeyFileError, load
from ..storage.migrate import known_revisions, upgrade
from .log import LogSettings
from .privacy.keys import DataKeySettings

LOG_SIGNER = "log-signer"
DATA_KEYS = "data-keys"
ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True, slots=True)
class KeyFile:
    """A key file that belongs with a database, where this process finds it."""
    role: str
    name: str  # for people
    path: Path | None  # None: a database in memory, whose key is in memory too
    secret: bool

    @property
    def member(self) -> str:
        return f"keys/{self.role}.key"


def key_files(url: str) -> list[KeyFile]:
    """The key files of the database at `url`: every key file dangol keeps goes here, so
    that backups carry it and restores put it back."""
    keys = [KeyFile(LOG_SIGNER, "the log's signer key", LogSettings.for_database(url).key_path, secret=True)]
    data_keys = DataKeySettings.for_database(url)
    if not (data_keys.provider or data_keys.inline):
        keys.append(KeyFile(DATA_KEYS, "the members' key-encryption keys", data_keys.key_file, secret=True))
    return keys


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    size: int
    manifest: Manifest
    taken: list[KeyFile]  # in the backup
    left_out: list[KeyFile]  # there, but not taken (keys=False)
    absent: list[KeyFile]  # not made yet
    strangers: list[Path]  # other *.key files beside a SQLite database, which dangol does not know


@dataclass(frozen=True, slots=True)
class KeyOutcome:
    key: KeyFile
    outcome: str  # restored | unchanged | replaced | in place | missing
    kept: Path | None = None  # where a replaced key file was moved


@dataclass(frozen=True, slots=True)
class RestoreReport:
    path: Path
    manifest: Manifest
    migrated_to: str | None  # the schema revision it was migrated to, when the backup's was older
    keys: list[KeyOutcome]


class BackupService:
    def __init__(self, url: str, clock: Clock | None = None) -> None:
        self.url = url
        self.clock = clock or SystemClock()
        self.engine = make_url(url).get_backend_name()
        if self.engine not in ENGINE_NAMES:
            raise BackupError(f"dangol backs up SQLite and PostgreSQL databases, not {self.engine}")

    @property
    def shown_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    # ------------------------------------------------------------ backing up

    def backup(self, path: Path, *, keys: bool = True, progress: Progress = quiet) -> BackupReport:
        """Writes a backup of the database to `path` (a new file)."""
        path = path.absolute()
        if path.exists():
            raise BackupError(f"{path} exists already: a backup never replaces a file, choose another name")
        if not path.parent.is_dir():
            raise BackupError(f"there is no directory {path.parent} to write the backup in")
        origin = LogSettings.for_database(self.url).origin
        present = [key for key in key_files(self.url) if key.path is not None and key.path.exists()]
        signer = next((key for key in present if key.role == LOG_SIGNER), None)
        try:
            verifier = None if signer is None or signer.path is None else load(signer.path, origin).vkey()
        except KeyFileError as error:
            raise BackupError(str(error)) from None
        taken = present if keys else []
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as scratch:
            if self.engine == "sqlite":
                member, versions = "database.sqlite", None
                contents = sqlite.snapshot(self._sqlite_file(), Path(scratch) / member, progress)
            else:
                member = "database.pgdump"
                contents, versions = postgres.dump(self.url, Path(scratch) / member, progress)
            assert contents.revision is not None

            def manifest(stored: dict[str, Stored]) -> Manifest:
                return Manifest(
                    engine=self.engine, schema_revision=str(contents.revision), created_at=self.clock.now(),
                    source=self.shown_url, dangol_version=__version__, database=member, tables=contents.tables,
                    log=LogFacts(origin, verifier, contents.log_tree_size, contents.last_checkpoint),
                    keys=tuple(KeyCopy(key.role, key.member, key.secret) for key in taken), files=stored,
                    postgresql=versions)

            files = [(member, Path(scratch) / member), *((key.member, key.path) for key in taken if key.path)]
            size, written = archive.write(path, files, manifest, progress)
        return BackupReport(path, size, written, taken, [key for key in present if key not in taken],
                            [key for key in key_files(self.url) if key not in present], self._strangers())

    def _strangers(self) -> list[Path]:
        """Key files beside a SQLite database that are none of dangol's: said, not taken."""
        if self.engine != "sqlite":
            return []
        known = {key.path.absolute() for key in key_files(self.url) if key.path is not None}
        beside = self._sqlite_file().absolute().parent
        return sorted(found for found in beside.glob("*.key") if found.absolute() not in known)

    # ------------------------------------------------------------ restoring

    def restore(self, path: Path, *, force: bool = False, progress: Progress = quiet) -> RestoreReport:
        """Restores the backup at `path` into the database; see the module docstring."""
        with archive.opened(path) as backup:
            manifest = backup.manifest
            self._check_engine(path, manifest)
            revisions = known_revisions()
            if manifest.schema_revision not in revisions:
                raise BackupError(
                    f"{path} is of schema {manifest.schema_revision}, which this dangol (schema {revisions[-1]}) "
                    f"does not know: restore it with dangol {manifest.dangol_version} or newer")
            origin = LogSettings.for_database(self.url).origin
            if manifest.log.origin != origin:
                raise BackupError(f"{path} holds the log {manifest.log.origin!r}, but this dangol is configured for "
                                  f"{origin!r}: set DANGOL_LOG_ORIGIN={manifest.log.origin}")
            held = self._tables()
            if held and not force:
                raise BackupError(f"the database at {self.shown_url} is not empty ({len(held)} tables): restore "
                                  f"into an empty database, or pass --force to replace everything it holds")
            plans = [self._plan_key(key, backup, force) for key in key_files(self.url)]
            with tempfile.TemporaryDirectory(prefix="dangol-restore-") as scratch:
                copy = Path(scratch) / Path(manifest.database).name
                backup.extract(manifest.database, copy, progress)
                if self.engine == "sqlite":
                    self._check_rows(path, manifest, sqlite.contents(copy))
                    sqlite.restore(copy, self._sqlite_file(), progress)
                else:
                    postgres.restore(copy, self.url, manifest.tables, replace=bool(held),
                                     dumped_by=(manifest.postgresql or {}).get("pg_dump"), progress=progress)
        outcomes = [plan.carry_out(self.clock) for plan in plans]
        migrated_to = None
        if manifest.schema_revision != revisions[-1]:
            db = Database(self.url)
            try:
                upgrade(db)
            except (SQLAlchemyError, CommandError) as error:
                raise BackupError(f"{path} is restored (schema {manifest.schema_revision}), but migrating it to "
                                  f"{revisions[-1]} failed: {str(error).splitlines()[0]}; `dangol init` tries "
                                  f"again") from None
            finally:
                db.dispose()
            migrated_to = revisions[-1]
        return RestoreReport(path, manifest, migrated_to, outcomes)

    def _check_engine(self, path: Path, manifest: Manifest) -> None:
        if manifest.engine != self.engine:
            name = ENGINE_NAMES[manifest.engine]
            raise BackupError(f"{path} is a backup of a {name} database: it restores into {name} only, "
                              f"not into {self.shown_url}")

    @staticmethod
    def _check_rows(path: Path, manifest: Manifest, contents: Contents) -> None:
        if contents.tables != dict(manifest.tables):
            raise BackupError(f"{path} is damaged: its database does not hold the rows its manifest lists")

    def _tables(self) -> list[str]:
        if self.engine == "sqlite":
            return sqlite.table_names(self._sqlite_file())
        return postgres.table_names(self.url)

    def _plan_key(self, key: KeyFile, backup: archive.Backup, force: bool) -> _KeyPlan:
        """What to do with one key file, decided before anything changes (BackupError when
        the key already there is another log's)."""
        copy = next((c for c in backup.manifest.keys if c.role == key.role), None)
        assert key.path is not None  # a database in memory was refused before
        current = key.path.read_bytes() if key.path.exists() else None
        if copy is not None:
            data = backup.read(copy.file)
            if current is None:
                return _KeyPlan(key, "restored", data)
            if current.strip() == data.strip():
                return _KeyPlan(key, "unchanged")
            if not force:
                raise BackupError(f"{key.path} holds another key than the backup's ({key.name}): move it away, "
                                  f"or pass --force to restore the backup's (the one there is then kept beside it)")
            return _KeyPlan(key, "replaced", data)
        if key.role == DATA_KEYS:
            # Members' data keys were wrapped with keys of this file: without it they stay shut.
            needed = backup.manifest.rows("member_data_keys") > 0
            return _KeyPlan(key, "none" if not needed else "in place" if current is not None else "missing")
        expected = backup.manifest.log.verifier_key if key.role == LOG_SIGNER else None
        if expected is None:
            return _KeyPlan(key, "in place" if current is not None else "none")
        if current is None:
            return _KeyPlan(key, "missing")
        try:
            found = load(key.path, backup.manifest.log.origin).vkey()
        except KeyFileError as error:
            raise BackupError(str(error)) from None
        if found != expected:
            raise BackupError(f"{key.path} holds another log's key than the backup's ({expected}): put the "
                              f"backup's log key there, or point DANGOL_LOG_KEY at it")
        return _KeyPlan(key, "in place")

    def _sqlite_file(self) -> Path:
        database = make_url(self.url).database
        if database in (None, "", ":memory:"):
            raise BackupError("a database in memory has nothing on disk to back up or restore into")
        return Path(str(database))


@dataclass(frozen=True, slots=True)
class _KeyPlan:
    key: KeyFile
    outcome: str
    data: bytes | None = None

    def carry_out(self, clock: Clock) -> KeyOutcome:
        if self.data is None:
            return KeyOutcome(self.key, self.outcome)
        path = self.key.path
        assert path is not None
        kept = None
        if self.outcome == "replaced":
            kept = path.with_name(f"{path.name}.replaced-{clock.now():%Y%m%dT%H%M%SZ}")
            os.replace(path, kept)
        _write_secret(path, self.data)
        return KeyOutcome(self.key, self.outcome, kept)


def _write_secret(path: Path, data: bytes) -> None:
    """Readable by its owner only, under another name first: never half a key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)

