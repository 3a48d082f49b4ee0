"""A member's export as one archive: `export.json` (everything, nested) and one CSV file per
list of records (transactions, lots, events, ...), for a spreadsheet. A zip file whose
entries carry a fixed date, so that the same export gives the same bytes."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can carry


def csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows as CSV with a header of every key seen (in first-seen order); nested values
    (postings, proofs) as compact JSON in their cell."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return str(value)


def build_archive(document: Mapping[str, Any], tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _add(archive, "export.json", json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False) + "\n")
        for name, rows in tables.items():
            _add(archive, f"{name}.csv", csv_text(rows))
    return buffer.getvalue()


def _add(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text.encode("utf-8"))
