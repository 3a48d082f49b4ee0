"""Reading event files: CSV with a header row, or JSON Lines (one object a line).

Files are read as bytes so that progress can be told in bytes and a line that is not
UTF-8 is one bad line rather than the end of the import. Each record comes with the
number of the line it starts on."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from .events import FIELDS, REQUIRED


class FileFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


_EXTENSIONS = {".csv": FileFormat.CSV, ".jsonl": FileFormat.JSONL, ".ndjson": FileFormat.JSONL}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (a bad header, an unknown format)."""


@dataclass(frozen=True, slots=True)
class Record:
    line: int
    fields: dict[str, Any] | None  # None when the line could not be read
    error: str | None = None


def detect_format(path: Path, requested: str | None = None) -> FileFormat:
    if requested:
        try:
            return FileFormat(requested.lower())
        except ValueError:
            raise ImportFileError(f"unknown format {requested!r} (csv or jsonl)") from None
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise ImportFileError(f"cannot tell the format of {path.name} from its extension; pass --format csv or jsonl")
    return found


class EventFile:
    """An event file opened for one pass; `bytes_read` grows as records are yielded."""

    def __init__(self, path: Path, file_format: FileFormat) -> None:
        self.path = path
        self.format = file_format
        self.bytes_read = 0
        self._bad_lines: dict[int, str] = {}

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def records(self) -> Iterator[Record]:
        with self.path.open("rb") as raw:
            lines = self._decoded(raw)
            if self.format is FileFormat.JSONL:
                yield from self._jsonl(lines)
            else:
                yield from self._csv(lines)

    def _decoded(self, raw: IO[bytes]) -> Iterator[tuple[int, str]]:
        for number, data in enumerate(raw, start=1):
            self.bytes_read += len(data)
            if number == 1 and data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            try:
                yield number, data.decode("utf-8")
            except UnicodeDecodeError:
                self._bad_lines[number] = "the line is not valid UTF-8"
                yield number, data.decode("utf-8", errors="replace")

    def _jsonl(self, lines: Iterator[tuple[int, str]]) -> Iterator[Record]:
        for number, text in lines:
            if not text.strip():
                continue
            if number in self._bad_lines:
                yield Record(number, None, self._bad_lines.pop(number))
                continue
            try:
                value = json.loads(text)
            except ValueError as error:
                yield Record(number, None, f"not valid JSON ({error})")
                continue
            if not isinstance(value, dict):
                yield Record(number, None, "each line must be one JSON object")
                continue
            yield Record(number, value)

    def _csv(self, lines: Iterator[tuple[int, str]]) -> Iterator[Record]:
        position = {"line": 0}

        def text_lines() -> Iterator[str]:
            for number, text in lines:
                position["line"] = number
                yield text

        reader = csv.reader(text_lines(), strict=True)
        header = self._header(reader)
        while True:
            start = position["line"] + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield Record(start, None, f"not valid CSV ({error})")
                continue
            bad = [n for n in range(start, position["line"] + 1) if n in self._bad_lines]
            if bad:
                yield Record(start, None, self._bad_lines.pop(bad[0]))
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield Record(start, None, f"expected {len(header)} fields as in the header, got {len(row)}")
                continue
            yield Record(start, dict(zip(header, row)))

    def _header(self, reader: Any) -> list[str]:
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise ImportFileError(f"{self.path.name} is empty: a CSV event file starts with a header row") from None
        except csv.Error as error:
            raise ImportFileError(f"{self.path.name}: the header row is not valid CSV ({error})") from None
        unknown = [name for name in header if name not in FIELDS]
        if unknown:
            raise ImportFileError(f"{self.path.name}: unknown column {unknown[0]!r} in the header "
                                  f"(columns: {', '.join(sorted(FIELDS))})")
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise ImportFileError(f"{self.path.name}: the header has no {missing[0]!r} column")
        if len(set(header)) != len(header):
            raise ImportFileError(f"{self.path.name}: a column appears twice in the header")
        return header
