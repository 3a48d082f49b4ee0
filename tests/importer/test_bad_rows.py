"""A bad row costs no other row, on SQLite and PostgreSQL: a refused row, whatever its
time, holds back no later one; a row repeating an earlier row's id is a duplicate or a
conflict, never a reason to skip rows on resuming; and the reason of every reject survives
an interrupted run, in the rejects file and for the next run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dangol.importer import Importer, import_file
from dangol.service.container import Services

from .helpers import at, balances_by_ref, ev, write_jsonl


def earns(first: int, last: int, member: str = "ann") -> list[dict[str, Any]]:
    """An earn of 10 points a day, on days first..last."""
    return [ev(f"d{day}", "earn", member, at(day), points=10) for day in range(first, last + 1)]


class Stop(Exception):
    pass


def stop_after(batches: int) -> Any:
    """A progress callback that interrupts the import once `batches` batches are in."""
    done = [0]

    def progress(_: int) -> None:
        done[0] += 1
        if done[0] == batches:
            raise Stop

    return progress


@pytest.mark.parametrize("batch_size", [1, 1_000])
def test_a_future_dated_row_holds_back_no_later_row(services: Services, market: str, tmp_path: Path,
                                                    batch_size: int) -> None:
    path = write_jsonl(tmp_path / "e.jsonl", [
        ev("enrol", "enroll", "ann", at(1)), *earns(2, 4),
        ev("typo", "earn", "ann", "2031-03-05T10:00:00+09:00", points=10_000),
        *earns(5, 9)])
    report = import_file(services, market, path, batch_size=batch_size)
    assert [(r.line, r.event_id, r.code, r.detail) for r in report.rejects] == [
        (5, "typo", "validation-error", "occurred_at is in the future")]
    assert (report.applied, report.rejected) == (9, 1)
    assert balances_by_ref(services.db, market)["ann"][1] == 80


@pytest.mark.parametrize("batch_size", [1, 3, 1_000])
def test_a_row_the_ledger_refuses_holds_back_no_later_row_whatever_its_time(
        services: Services, market: str, tmp_path: Path, batch_size: int) -> None:
    """Dated weeks after the rows that follow it (a typo in the date), a row for an unknown
    customer and a redemption beyond the balance are refused, and only they."""
    path = write_jsonl(tmp_path / "e.jsonl", [
        ev("enrol", "enroll", "ann", at(1)), *earns(2, 4),
        ev("ghost", "earn", "nobody", at(28), points=500),
        *earns(5, 7),
        ev("greedy", "redeem", "ann", at(27), points=5_000),
        *earns(8, 9),
        ev("late", "earn", "ann", at(7, 12), points=1),  # earlier than day 9's: out of order
    ])
    report = import_file(services, market, path, batch_size=batch_size)
    assert [(r.line, r.code) for r in report.rejects] == [
        (5, "unknown-member"), (9, "insufficient-points"), (12, "out-of-order")]
    assert "2025-03-09T01:00:00Z" in report.rejects[2].detail  # the time it is compared with: day 9's
    assert balances_by_ref(services.db, market)["ann"][1] == 80


def test_resuming_is_not_misled_by_a_later_row_repeating_an_imported_id(
        services: Services, market: str, tmp_path: Path) -> None:
    rows = [ev("enrol", "enroll", "ann", at(1)), *earns(2, 20)]
    rows.insert(15, dict(rows[3]))  # line 16 repeats line 4, which the first import applies
    import_file(services, market, write_jsonl(tmp_path / "part.jsonl", rows[:5]))
    report = import_file(services, market, write_jsonl(tmp_path / "all.jsonl", rows))
    assert report.rejects == []
    assert balances_by_ref(services.db, market)["ann"][1] == 190
    assert (report.applied, report.replayed, report.duplicates) == (15, 5, 1)


def test_a_repeated_id_is_a_duplicate_with_the_same_content_and_a_conflict_with_other(
        services: Services, market: str, tmp_path: Path) -> None:
    rows = [ev("enrol", "enroll", "ann", at(1)), *earns(2, 6)]
    rows.insert(3, dict(rows[1]))  # the same row twice in one batch: applied once
    rows.append({**rows[2], "points": 900, "occurred_at": at(7)})  # another event under line 3's id
    path = write_jsonl(tmp_path / "e.jsonl", rows)
    report = import_file(services, market, path)
    assert [str(r) for r in report.rejects] == [
        "line 8 (event d3): duplicate-event-id: line 3 has the event id 'd3' with other content; an event id "
        "names one event"]
    assert balances_by_ref(services.db, market)["ann"][1] == 50
    assert (report.events, report.applied, report.duplicates, report.rejected) == (8, 6, 1, 1)
    again = import_file(services, market, path)
    assert (again.applied, again.replayed, again.duplicates, [r.code for r in again.rejects]) == (
        0, 6, 1, ["duplicate-event-id"])
    assert balances_by_ref(services.db, market)["ann"][1] == 50


def test_rejects_are_in_the_rejects_file_as_soon_as_their_batch_is_committed(
        services: Services, market: str, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "e.jsonl", [
        ev("enrol", "enroll", "ann", at(1)), ev("ghost", "earn", "nobody", at(2), points=1), *earns(3, 6),
        ev("ghost-2", "earn", "nobody", at(7), points=1), *earns(8, 12)])
    rejects = tmp_path / "rejects.jsonl"
    with rejects.open("w", encoding="utf-8") as out:
        with pytest.raises(Stop):
            Importer(services, market, batch_size=4, rejects_file=out).run(path, progress=stop_after(2))
        # Read while the importer's file is still open: what a killed process leaves.
        written = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(entry["line"], entry["code"], entry["previously_rejected"]) for entry in written] == [
        (2, "unknown-member", False), (7, "unknown-member", False)]


def test_a_later_import_reports_the_reasons_an_interrupted_one_rejected_rows_for(
        services: Services, market: str, tmp_path: Path) -> None:
    rows = [ev("enrol", "enroll", "ann", at(1)), ev("ghost", "earn", "nobody", at(2), points=1),
            ev("typo", "earn", "ann", "2031-03-05T10:00:00+09:00", points=1), ev("bad", "earn", "ann", at(4), points="ten"),
            *earns(5, 12)]
    path = write_jsonl(tmp_path / "e.jsonl", rows)
    with pytest.raises(Stop):
        Importer(services, market, batch_size=6).run(path, progress=stop_after(1))
    rejects = tmp_path / "rejects.jsonl"
    with rejects.open("w", encoding="utf-8") as out:
        report = Importer(services, market, batch_size=6, rejects_file=out).run(path)
    assert [(str(r), r.earlier) for r in report.rejects] == [
        ("line 2 (event ghost): unknown-member: no member with reference 'nobody' in program market "
         "(rejected by an earlier import)", True),
        ("line 3 (event typo): validation-error: occurred_at is in the future (rejected by an earlier import)", True),
        ("line 4 (event bad): malformed-event: 'points' must be a whole number, got 'ten'", False),
    ]
    written = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(entry["line"], entry["code"], entry["previously_rejected"]) for entry in written] == [
        (2, "unknown-member", True), (3, "validation-error", True), (4, "malformed-event", False)]
    assert (report.applied, report.replayed) == (6, 3)
    assert balances_by_ref(services.db, market)["ann"][1] == 80

    # Changed since, the row is no longer what was rejected: its old reason is not told.
    rows[1]["member"] = "ann"
    changed = import_file(services, market, write_jsonl(tmp_path / "changed.jsonl", rows))
    assert [(r.line, r.code) for r in changed.rejects][:1] == [(2, "previously-rejected")]
