"""A file of anchor records, one JSON object a line: what `dangol anchor submit
--records FILE` keeps, so that running it again for the same checkpoint sends nothing."""

from __future__ import annotations

import json
from pathlib import Path

from .payload import AnchorError
from .record import AnchorRecord


def load_records(path: Path) -> list[AnchorRecord]:
    """The records in `path` (none if it does not exist yet)."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(AnchorRecord.from_json(json.loads(line)))
        except (json.JSONDecodeError, AnchorError) as error:
            raise AnchorError(f"{path}, line {number}: {error}") from None
    return records


def append_record(path: Path, record: AnchorRecord) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps(record.to_json(), sort_keys=True) + "\n")
