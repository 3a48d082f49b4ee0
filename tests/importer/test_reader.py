"""Reading CSV and JSON Lines event files: records with the line they start on, bad
lines reported as such, and a file that cannot be read at all refused up front."""

from __future__ import annotations

from pathlib import Path

import pytest

from dangol.importer.reader import EventFile, FileFormat, ImportFileError, detect_format


def read(path: Path, fmt: FileFormat) -> list[tuple[int, dict[str, object] | None, str | None]]:
    source = EventFile(path, fmt)
    records = [(r.line, r.fields, r.error) for r in source.records()]
    assert source.bytes_read == path.stat().st_size
    return records


def test_csv_records_carry_their_starting_line(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(
        "\ufeffevent_id,type,member,occurred_at,reason\n"
        'e1,enroll,c-1,2025-01-01T00:00:00Z,\n'
        "\n"
        'e2,adjust,c-1,2025-01-02T00:00:00Z,"two\nlines"\n'
        "e3,enroll,c-2\n"
        'e4,enroll,"c-3",2025-01-03T00:00:00Z,\n'
        'e5,enroll,"c-"4,2025-01-03T00:00:00Z,\n'
        'e6,enroll,c-5,2025-01-03T00:00:00Z,\n'.encode())
    records = read(path, FileFormat.CSV)
    assert records[0] == (2, {"event_id": "e1", "type": "enroll", "member": "c-1",
                              "occurred_at": "2025-01-01T00:00:00Z", "reason": ""}, None)
    assert records[1][0] == 4 and records[1][1]["reason"] == "two\nlines"  # type: ignore[index]
    assert records[2] == (6, None, "expected 5 fields as in the header, got 3")
    assert records[3][0] == 7 and records[3][1]["member"] == "c-3"  # type: ignore[index]
    assert records[4][0] == 8 and records[4][2] is not None and records[4][2].startswith("not valid CSV")
    assert records[5][0] == 9 and records[5][1]["member"] == "c-5"  # type: ignore[index]


def test_jsonl_bad_lines_are_reported_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"event_id": "e1"}\n'
                     b'{"event_id": \n'
                     b'\n'
                     b'[1, 2]\n'
                     b'{"event_id": "\xff\xfe"}\n'
                     b'{"event_id": "e5"}')
    records = read(path, FileFormat.JSONL)
    assert [line for line, _, _ in records] == [1, 2, 4, 5, 6]
    assert records[0][1] == {"event_id": "e1"}
    assert records[1][2] is not None and records[1][2].startswith("not valid JSON")
    assert records[2][2] == "each line must be one JSON object"
    assert records[3][2] == "the line is not valid UTF-8"
    assert records[4][1] == {"event_id": "e5"}


@pytest.mark.parametrize(("content", "message"), [
    ("", "is empty"),
    ("event_id,type,member\n", "the header has no 'occurred_at' column"),
    ("event_id,type,member,occurred_at,ponts\n", "unknown column 'ponts'"),
    ("event_id,type,member,occurred_at,type\n", "a column appears twice"),
])
def test_a_csv_file_with_a_bad_header_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "events.csv"
    path.write_text(content)
    with pytest.raises(ImportFileError, match=message):
        list(EventFile(path, FileFormat.CSV).records())


def test_the_format_comes_from_the_extension_unless_named() -> None:
    assert detect_format(Path("a.CSV")) is FileFormat.CSV
    assert detect_format(Path("a.ndjson")) is FileFormat.JSONL
    assert detect_format(Path("a.txt"), "jsonl") is FileFormat.JSONL
    with pytest.raises(ImportFileError, match="pass --format"):
        detect_format(Path("a.txt"))
    with pytest.raises(ImportFileError, match="unknown format 'xml'"):
        detect_format(Path("a.csv"), "xml")
