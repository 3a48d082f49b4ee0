"""Backups of a dangol database: one file holding a consistent copy of the database (SQLite's
online backup API, or PostgreSQL's pg_dump in its custom format), the key files that go
with it, and a manifest saying what it is. service/backup.py decides what goes in and what a
restore may do; these modules do the copying."""

from .manifest import BackupError, Manifest, Stored
from .progress import Progress, quiet

__all__ = ["BackupError", "Manifest", "Progress", "Stored", "quiet"]
