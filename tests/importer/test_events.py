"""One record of an import file becomes an event, or a one-line reason why not."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dangol.importer.events import EventError, EventType, parse_event

BASE = {"event_id": "e1", "member": "c-1", "occurred_at": "2025-06-01T09:30:00+09:00"}


def test_an_earn_row_from_csv_has_integers_and_utc_times() -> None:
    event = parse_event(3, {**BASE, "type": "earn", "amount": "25000", "currency": "KRW", "order_ref": "o-1",
                            "points": "", "reason": "", "expires_at": "2026-06-01T00:00:00Z"})
    assert event.type is EventType.EARN
    assert event.line == 3
    assert event.amount == 25_000 and event.points is None and event.reason is None
    assert event.occurred_at == datetime(2025, 6, 1, 0, 30, tzinfo=timezone.utc)
    assert event.expires_at == datetime(2026, 6, 1, tzinfo=timezone.utc)
    assert event.key == "import:e1"


def test_json_values_may_be_numbers_and_nulls() -> None:
    event = parse_event(1, {**BASE, "type": "adjust", "points": -300, "reason": "correction", "expires_at": None})
    assert event.points == -300 and event.expires_at is None


@pytest.mark.parametrize(("record", "message"), [
    ({"type": "earn", "member": "c-1", "occurred_at": "2025-06-01T00:00:00Z", "points": 5}, "missing 'event_id'"),
    ({**BASE, "type": "earn"}, "an earn event needs 'points' or 'amount'"),
    ({**BASE, "type": "spend", "points": 5}, "unknown type 'spend'"),
    ({**BASE, "type": "earn", "ponts": 5}, "unknown field 'ponts'"),
    ({**BASE, "type": "redeem"}, "a redeem event needs 'points'"),
    ({**BASE, "type": "enroll", "points": 5}, "an enroll event takes no 'points'"),
    ({**BASE, "type": "capture"}, "a capture event needs 'hold_event'"),
    ({**BASE, "type": "adjust", "points": 5}, "an adjust event needs 'reason'"),
    ({**BASE, "type": "earn", "points": "12.5"}, "'points' must be a whole number"),
    ({**BASE, "type": "earn", "points": 12.0}, "'points' must be a whole number"),
    ({**BASE, "type": "earn", "points": True}, "'points' must be a whole number"),
    ({**BASE, "type": "earn", "points": 10**16}, "'points' is out of range"),
    ({**BASE, "type": "earn", "points": 5, "occurred_at": "2025-06-01T09:30:00"}, "'occurred_at' must be an ISO 8601"),
    ({**BASE, "type": "earn", "points": 5, "occurred_at": "yesterday"}, "'occurred_at' must be an ISO 8601"),
    ({**BASE, "type": "earn", "points": 5, "order_ref": 17}, "'order_ref' must be a string"),
    ({**BASE, "type": "earn", "points": 5, "order_ref": "x" * 201}, "'order_ref' must be at most 200"),
    ({**BASE, "type": "earn", "points": 5, "currency": "KRW"}, "'currency' goes with an 'amount'"),
    ({**BASE, "event_id": "e\n1", "type": "enroll"}, "'event_id' must be at most 248 printable"),
])
def test_a_malformed_record_says_what_is_wrong(record: dict[str, object], message: str) -> None:
    with pytest.raises(EventError, match=message):
        parse_event(1, record)
