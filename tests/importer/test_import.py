"""Importing event files into the ledger, on SQLite and PostgreSQL: every event type,
idempotent re-imports, resumption, and rejects reported by line without stopping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dangol.importer import ImportFileError, import_file
from dangol.service.container import Services

from .helpers import at, balances_by_ref, ev, row_counts, write_csv, write_jsonl


def every_kind() -> list[dict[str, Any]]:
    return [
        ev("e01", "enroll", "alice", at(1)),
        ev("e02", "enroll", "bob", at(1, 11)),
        ev("e03", "enroll", "carol", at(1, 12)),
        ev("e04", "earn", "alice", at(2), amount=100_000, currency="KRW", order_ref="o-1"),  # 5,000 points
        ev("e05", "earn", "alice", at(2, 11), points=1_000, reason="welcome bonus"),
        ev("e06", "earn", "carol", at(2, 12), points=700, reason="welcome bonus"),
        ev("e07", "redeem", "alice", at(3), points=2_000, reason="voucher"),
        ev("e08", "hold", "alice", at(4), points=1_000, order_ref="pos-1"),
        ev("e09", "capture", "alice", at(4, 10, 5), hold_event="e08", points=600),
        ev("e10", "hold", "alice", at(5), points=1_000),
        ev("e11", "void", "alice", at(5, 10, 5), hold_event="e10"),
        ev("e12", "reverse", "alice", at(6), order_ref="o-1", amount=50_000, currency="KRW"),  # claws back 2,500
        ev("e13", "transfer", "alice", at(7), to_member="bob", points=500, reason="gift"),
        ev("e14", "adjust", "bob", at(8), points=300, reason="goodwill"),
        ev("e15", "suspend", "bob", at(9), reason="fraud review"),
        ev("e16", "reactivate", "bob", at(10)),
        ev("e17", "close", "carol", at(11), reason="member request"),
    ]


EXPECTED = {  # status, available, pending, held, debt
    "alice": ("active", 6_000 - 2_000 - 600 - 2_500 - 500, 0, 0, 0),
    "bob": ("active", 800, 0, 0, 0),
    "carol": ("closed", 0, 0, 0, 0),
}


@pytest.mark.parametrize("writer", [write_csv, write_jsonl], ids=["csv", "jsonl"])
def test_every_event_type_is_imported(services: Services, market: str, tmp_path: Path, writer: Any) -> None:
    path = writer(tmp_path / f"events.{'csv' if writer is write_csv else 'jsonl'}", every_kind())
    report = import_file(services, market, path)
    assert (report.events, report.applied, report.replayed, report.rejected) == (17, 17, 0, 0), report.rejects
    assert balances_by_ref(services.db, market) == EXPECTED
    alice = services.reader.member_by_ref(market, "alice")
    history = services.reader.history(market, alice["id"], limit=50).items
    assert [item["kind"] for item in reversed(history)] == [
        "earn", "earn", "redeem", "hold", "capture", "hold", "void", "reverse", "transfer"]
    assert history[-1]["occurred_at"] == "2025-03-02T01:00:00Z"  # the event's own time, in UTC
    assert services.check.run().ok


def test_a_second_import_of_the_same_file_changes_nothing(services: Services, market: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "events.csv", every_kind())
    import_file(services, market, path, batch_size=4)
    before = row_counts(services.db)
    again = import_file(services, market, path, batch_size=4)
    assert (again.applied, again.replayed, again.rejected) == (0, 17, 0)
    assert row_counts(services.db) == before
    assert balances_by_ref(services.db, market) == EXPECTED
    assert services.check.run().ok


@pytest.mark.parametrize("batch_size", [1, 3, 1_000])
def test_batch_size_does_not_change_the_outcome(services: Services, market: str, tmp_path: Path,
                                                batch_size: int) -> None:
    report = import_file(services, market, write_jsonl(tmp_path / "e.jsonl", every_kind()), batch_size=batch_size)
    assert report.rejected == 0, report.rejects
    assert balances_by_ref(services.db, market) == EXPECTED


def test_an_import_cut_short_is_completed_by_importing_the_whole_file(
        services: Services, market: str, tmp_path: Path) -> None:
    events = every_kind()
    import_file(services, market, write_jsonl(tmp_path / "part.jsonl", events[:9]), batch_size=2)
    report = import_file(services, market, write_jsonl(tmp_path / "all.jsonl", events), batch_size=2)
    assert (report.applied, report.replayed, report.rejected) == (8, 9, 0), report.rejects
    assert balances_by_ref(services.db, market) == EXPECTED
    assert services.check.run().ok


def test_a_capture_may_come_in_a_later_file_than_its_hold(services: Services, market: str, tmp_path: Path) -> None:
    first = [ev("h1", "enroll", "dan", at(1)), ev("h2", "earn", "dan", at(1, 11), points=3_000),
             ev("h3", "hold", "dan", at(1, 12), points=2_000)]
    import_file(services, market, write_jsonl(tmp_path / "one.jsonl", first))
    second = [ev("h4", "capture", "dan", at(1, 12, 5), hold_event="h3", points=1_500)]
    report = import_file(services, market, write_jsonl(tmp_path / "two.jsonl", second))
    assert report.applied == 1, report.rejects
    assert balances_by_ref(services.db, market)["dan"] == ("active", 1_500, 0, 0, 0)


def test_rejected_events_are_reported_by_line_and_the_rest_imported(
        services: Services, market: str, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        ev("r1", "enroll", "erin", at(1)),
        ev("r2", "earn", "erin", "2025-03-01", points=10),                   # no zone
        ev("r3", "redeem", "erin", at(2), points=5_000),                     # nothing to redeem
        ev("r4", "earn", "nobody", at(2), points=10),                        # not enrolled
        ev("r5", "capture", "erin", at(2), hold_event="nope"),                # no such hold
        ev("r6", "earn", "erin", at(3), points=1_200, order_ref="o-9"),
        ev("r7", "earn", "erin", at(2), points=10),                          # out of order
        ev("r8", "earn", "erin", "2031-01-01T00:00:00Z", points=10),         # in the future
        ev("r9", "redeem", "erin", "2031-01-02T00:00:00Z", points=10),       # future and below the minimum
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines[:4]) + "\n{not json\n"
                    + "\n".join(json.dumps(line) for line in lines[4:]) + "\n")
    rejects = tmp_path / "rejects.jsonl"
    with rejects.open("w") as out:
        report = import_file(services, market, path, rejects_file=out)
    assert (report.events, report.applied, report.rejected) == (10, 2, 8)
    assert [(r.line, r.event_id, r.code) for r in report.rejects] == [
        (2, "r2", "malformed-event"), (3, "r3", "insufficient-points"), (4, "r4", "unknown-member"),
        (5, None, "malformed-event"), (6, "r5", "unknown-hold"), (8, "r7", "out-of-order"),
        (9, "r8", "validation-error"), (10, "r9", "validation-error"),
    ]
    assert "ISO 8601" in report.rejects[0].detail
    written = {entry["line"]: entry for entry in map(json.loads, rejects.read_text().splitlines())}
    assert sorted(written) == [2, 3, 4, 5, 6, 8, 9, 10]
    assert written[3]["event"]["event_id"] == "r3" and written[3]["detail"] == "5000 points requested, 0 available"
    assert balances_by_ref(services.db, market)["erin"] == ("active", 1_200, 0, 0, 0)


def test_an_earlier_reject_is_not_retried_once_later_events_are_in(
        services: Services, market: str, tmp_path: Path) -> None:
    """Applied late, an event would land after later ones: only `retry_rejected` does it,
    once the operator has fixed what made it fail (here: enrolled the missing customer)."""
    path = write_jsonl(tmp_path / "e.jsonl", [
        ev("p1", "enroll", "fay", at(1)), ev("p2", "earn", "gil", at(2), points=1_500),
        ev("p3", "earn", "fay", at(3), points=5_000)])
    assert import_file(services, market, path).rejects[0].code == "unknown-member"
    before = row_counts(services.db)
    again = import_file(services, market, path)
    assert [(r.line, r.code, r.earlier) for r in again.rejects] == [(2, "unknown-member", True)]
    assert str(again.rejects[0]) == ("line 2 (event p2): unknown-member: no member with reference 'gil' in program "
                                     "market (rejected by an earlier import)")
    assert row_counts(services.db) == before
    import_file(services, market, write_jsonl(tmp_path / "gil.jsonl", [ev("g1", "enroll", "gil", at(1))]))
    retried = import_file(services, market, path, retry_rejected=True)
    assert (retried.applied, retried.replayed) == (1, 2)
    assert balances_by_ref(services.db, market)["gil"][1] == 1_500
    assert balances_by_ref(services.db, market)["fay"][1] == 5_000


def test_an_event_changed_under_the_same_id_is_refused(services: Services, market: str, tmp_path: Path) -> None:
    events = [ev("c1", "enroll", "gus", at(1)), ev("c2", "earn", "gus", at(2), points=100)]
    import_file(services, market, write_jsonl(tmp_path / "a.jsonl", events))
    events[1]["points"] = 900
    report = import_file(services, market, write_jsonl(tmp_path / "b.jsonl", events))
    assert [(r.event_id, r.code) for r in report.rejects] == [("c2", "idempotency-conflict")]
    assert balances_by_ref(services.db, market)["gus"][1] == 100


def test_a_file_that_cannot_be_read_stops_before_anything_is_written(
        services: Services, market: str, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("event_id,kind,member,occurred_at\n")
    with pytest.raises(ImportFileError, match="unknown column 'kind'"):
        import_file(services, market, path)
    assert row_counts(services.db)["transactions"] == 0
