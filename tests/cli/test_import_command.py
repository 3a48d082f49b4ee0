"""`dangol import`: exit 0 when every event went in, 1 with rejects listed, 2 when the
file cannot be read at all."""

from __future__ import annotations

import json
from pathlib import Path

from dangol.service.container import Services

from .helpers import dangol, one_error_line


def events_file(tmp_path: Path, *extra: dict[str, object]) -> Path:
    path = tmp_path / "events.jsonl"
    events = [
        {"event_id": "1", "type": "enroll", "member": "c-1", "occurred_at": "2025-05-01T10:00:00+09:00"},
        {"event_id": "2", "type": "earn", "member": "c-1", "occurred_at": "2025-05-02T10:00:00+09:00",
         "amount": 30_000, "currency": "KRW", "order_ref": "o-1"},
        *extra,
    ]
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    return path


def test_import_then_import_again(database_url: str, tmp_path: Path) -> None:
    services = Services.open(database_url, migrate=False)
    services.programs.create_program("shop", "Shop", "KRW")
    path = events_file(tmp_path)
    first = dangol(database_url, "import", str(path))
    assert first.exit_code == 0, first.output
    assert f"Imported {path} into program shop: 2 events, 2 applied, 0 already imported, 0 rejected" in first.stdout
    again = dangol(database_url, "import", str(path), "--program", "shop")
    assert "2 events, 0 applied, 2 already imported, 0 rejected" in again.stdout
    services.db.dispose()


def test_rejects_are_listed_and_exit_1(database_url: str, tmp_path: Path) -> None:
    services = Services.open(database_url, migrate=False)
    services.programs.create_program("shop", "Shop", "KRW")
    path = events_file(tmp_path, {"event_id": "3", "type": "redeem", "member": "c-1",
                                  "occurred_at": "2025-05-03T10:00:00+09:00", "points": 5_000})
    rejects = tmp_path / "rejects.jsonl"
    result = dangol(database_url, "import", str(path), "--rejects", str(rejects))
    assert result.exit_code == 1
    assert "3 events, 2 applied, 0 already imported, 1 rejected" in result.stdout
    assert result.stderr.strip() == ("rejected: line 3 (event 3): insufficient-points: "
                                     "5000 points requested, 0 available")
    assert json.loads(rejects.read_text())["code"] == "insufficient-points"
    services.db.dispose()


def test_a_file_that_cannot_be_read_is_an_error(database_url: str, tmp_path: Path) -> None:
    services = Services.open(database_url, migrate=False)
    services.programs.create_program("shop", "Shop", "KRW")
    path = tmp_path / "events.csv"
    path.write_text("id,type,member,occurred_at\n")
    result = dangol(database_url, "import", str(path))
    assert result.exit_code == 2
    assert one_error_line(result).startswith("error: events.csv: unknown column 'id' in the header")
    wrong = dangol(database_url, "import", str(tmp_path / "events.txt"))
    assert wrong.exit_code == 2
    services.db.dispose()
