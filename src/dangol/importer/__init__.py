"""Imports of event histories from CSV or JSON Lines files (see docs/import.md)."""

from .events import EventType, ImportEvent, event_key, parse_event
from .reader import FileFormat, ImportFileError, detect_format
from .runner import Importer, ImportReport, Reject, import_file

__all__ = [
    "EventType", "FileFormat", "ImportEvent", "ImportFileError", "ImportReport", "Importer", "Reject",
    "detect_format", "event_key", "import_file", "parse_event",
]
