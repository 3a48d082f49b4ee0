"""What a backup file says about itself (`manifest.json` inside it): the engine and the schema
revision it was taken at, when and from where, the rows of every table, the log it holds,
which key files came with it, and every file's size and SHA-256. A restore reads it before
touching anything: to refuse another engine or a newer schema, and to check every byte."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

FORMAT = "dangol-backup"
FORMAT_VERSION = 1
ENGINES = ("sqlite", "postgresql")


class BackupError(Exception):
    """A backup that cannot be taken or restored, in one line. Raised before anything was
    changed unless the message says otherwise."""


@dataclass(frozen=True, slots=True)
class Stored:
    """A file inside the backup."""
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class KeyCopy:
    """A key file that came with the database; `secret` when whoever reads it can sign."""
    role: str
    file: str
    secret: bool


@dataclass(frozen=True, slots=True)
class LogFacts:
    """The transparency log in the backup: whose it is and how far it was signed."""
    origin: str
    verifier_key: str | None  # None: the log had no key yet
    tree_size: int | None = None  # None: a schema from before the log
    last_checkpoint: int | None = None


@dataclass(frozen=True, slots=True)
class Manifest:
    engine: str
    schema_revision: str
    created_at: datetime
    source: str  # the database's URL, without its password
    dangol_version: str
    database: str  # the file inside the backup holding the database
    tables: Mapping[str, int]  # rows of every table, in the snapshot that was copied
    log: LogFacts
    keys: tuple[KeyCopy, ...] = ()
    files: Mapping[str, Stored] = field(default_factory=dict)
    postgresql: Mapping[str, str] | None = None  # the server's and pg_dump's versions

    def rows(self, table: str) -> int:
        return self.tables.get(table, 0)

    @property
    def secret(self) -> bool:
        return any(key.secret for key in self.keys)

    def to_json(self) -> bytes:
        return json.dumps({
            "format": FORMAT, "format_version": FORMAT_VERSION, "engine": self.engine,
            "schema_revision": self.schema_revision,
            "created_at": self.created_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
            "source": self.source, "dangol_version": self.dangol_version, "database": self.database,
            "tables": dict(self.tables),
            "log": {"origin": self.log.origin, "verifier_key": self.log.verifier_key,
                    "tree_size": self.log.tree_size, "last_checkpoint": self.log.last_checkpoint},
            "keys": [{"role": k.role, "file": k.file, "secret": k.secret} for k in self.keys],
            "files": {name: {"size": s.size, "sha256": s.sha256} for name, s in self.files.items()},
            "postgresql": None if self.postgresql is None else dict(self.postgresql),
        }, indent=2, sort_keys=False).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """The manifest, or BackupError naming what is wrong with it."""
        try:
            raw = json.loads(data)
            if not isinstance(raw, dict) or raw.get("format") != FORMAT:
                raise BackupError("its manifest is not a dangol backup's")
            if raw.get("format_version") != FORMAT_VERSION:
                raise BackupError(f"it is in backup format {raw.get('format_version')!r}; this dangol reads "
                                  f"format {FORMAT_VERSION}: use a newer dangol")
            if raw["engine"] not in ENGINES:
                raise BackupError(f"its engine {raw['engine']!r} is not one dangol knows")
            log = raw["log"]
            return cls(
                engine=_text(raw["engine"]), schema_revision=_text(raw["schema_revision"]),
                created_at=datetime.fromisoformat(_text(raw["created_at"])), source=_text(raw["source"]),
                dangol_version=_text(raw["dangol_version"]), database=_text(raw["database"]),
                tables={_text(name): _count(rows) for name, rows in _mapping(raw["tables"]).items()},
                log=LogFacts(_text(log["origin"]), _optional_text(log["verifier_key"]),
                             _optional_count(log["tree_size"]), _optional_count(log["last_checkpoint"])),
                keys=tuple(KeyCopy(_text(k["role"]), _text(k["file"]), bool(k["secret"])) for k in raw["keys"]),
                files={_text(name): Stored(_count(s["size"]), _text(s["sha256"]))
                       for name, s in _mapping(raw["files"]).items()},
                postgresql=None if raw["postgresql"] is None else {
                    _text(k): _text(v) for k, v in _mapping(raw["postgresql"]).items()},
            )
        except BackupError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BackupError(f"its manifest cannot be read ({type(error).__name__}: {error})") from None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not text")
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"{value!r} is not a count")
    return value


def _optional_count(value: Any) -> int | None:
    return None if value is None else _count(value)


def _mapping(value: Any) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{value!r} is not an object")
    return value
