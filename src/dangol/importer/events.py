"""The import file's events: one record (a CSV row or a JSON object) becomes an
`ImportEvent`, or a one-line reason why it cannot. Only the shape is checked here;
whether the ledger accepts the event is the ledger's business."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any

from ..domain.clock import as_utc
from ..domain.member_ledger import MAX_POINTS
from ..service.ledger import MAX_KEY_LENGTH

KEY_PREFIX = "import:"
MAX_EVENT_ID = MAX_KEY_LENGTH - len(KEY_PREFIX)
_INTEGER = re.compile(r"^[+-]?[0-9]{1,19}$")


class EventType(StrEnum):
    ENROLL = "enroll"
    EARN = "earn"
    REDEEM = "redeem"
    REVERSE = "reverse"
    ADJUST = "adjust"
    HOLD = "hold"
    CAPTURE = "capture"
    VOID = "void"
    TRANSFER = "transfer"
    SUSPEND = "suspend"
    REACTIVATE = "reactivate"
    CLOSE = "close"


REQUIRED = ("event_id", "type", "member", "occurred_at")

# Fields each type takes besides the required ones; (those it needs, those it may have).
_TYPE_FIELDS: dict[EventType, tuple[frozenset[str], frozenset[str]]] = {
    EventType.ENROLL: (frozenset(), frozenset()),
    EventType.EARN: (frozenset(), frozenset({"points", "amount", "currency", "order_ref", "reason",
                                             "available_at", "expires_at"})),
    EventType.REDEEM: (frozenset({"points"}), frozenset({"order_ref", "reason"})),
    EventType.REVERSE: (frozenset({"order_ref"}), frozenset({"amount", "currency", "reason"})),
    EventType.ADJUST: (frozenset({"points", "reason"}), frozenset({"expires_at"})),
    EventType.HOLD: (frozenset({"points"}), frozenset({"order_ref", "timeout_seconds"})),
    EventType.CAPTURE: (frozenset({"hold_event"}), frozenset({"points"})),
    EventType.VOID: (frozenset({"hold_event"}), frozenset()),
    EventType.TRANSFER: (frozenset({"to_member", "points"}), frozenset({"reason"})),
    EventType.SUSPEND: (frozenset(), frozenset({"reason"})),
    EventType.REACTIVATE: (frozenset(), frozenset({"reason"})),
    EventType.CLOSE: (frozenset(), frozenset({"reason"})),
}

INTEGER_FIELDS = frozenset({"points", "amount", "timeout_seconds"})
TIME_FIELDS = frozenset({"occurred_at", "available_at", "expires_at"})
TEXT_LIMITS = {"event_id": MAX_EVENT_ID, "type": 20, "member": 200, "to_member": 200, "hold_event": MAX_EVENT_ID,
               "order_ref": 200, "reason": 500, "currency": 3}
FIELDS = frozenset(REQUIRED) | INTEGER_FIELDS | TIME_FIELDS | frozenset(TEXT_LIMITS)


class EventError(ValueError):
    """Why one record is not a valid event (its line number is added by the reader)."""


@dataclass(frozen=True, slots=True)
class ImportEvent:
    line: int
    event_id: str
    type: EventType
    member: str
    occurred_at: datetime
    points: int | None = None
    amount: int | None = None
    currency: str | None = None
    order_ref: str | None = None
    reason: str | None = None
    to_member: str | None = None
    hold_event: str | None = None
    available_at: datetime | None = None
    expires_at: datetime | None = None
    timeout_seconds: int | None = None

    @property
    def key(self) -> str:
        return event_key(self.event_id)

    @property
    def content(self) -> tuple[object, ...]:
        """What the event says, wherever it stands in the file (every field but its line)."""
        content: tuple[object, ...] = _CONTENT(self)
        return content


_CONTENT = attrgetter(*(f.name for f in fields(ImportEvent) if f.name != "line"))


def event_key(event_id: str) -> str:
    """The idempotency key an imported event is applied under."""
    return KEY_PREFIX + event_id


def parse_event(line: int, record: dict[str, Any]) -> ImportEvent:
    """Validates one record. Empty strings and nulls count as absent, so CSV rows and
    JSON objects read the same."""
    fields = {name: value for name, value in record.items() if value is not None and value != ""}
    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        raise EventError(f"unknown field {unknown[0]!r}")
    missing = [name for name in REQUIRED if name not in fields]
    if missing:
        raise EventError(f"missing {missing[0]!r}")
    try:
        event_type = EventType(_text(fields, "type"))
    except ValueError:
        raise EventError(f"unknown type {fields['type']!r} (one of {', '.join(t.value for t in EventType)})") from None
    needed, allowed = _TYPE_FIELDS[event_type]
    for name in sorted(needed):
        if name not in fields:
            raise EventError(f"{_a(event_type)} event needs {name!r}")
    for name in sorted(set(fields) - set(REQUIRED) - needed - allowed):
        raise EventError(f"{_a(event_type)} event takes no {name!r}")
    if event_type is EventType.EARN and "points" not in fields and "amount" not in fields:
        raise EventError("an earn event needs 'points' or 'amount'")
    if "currency" in fields and "amount" not in fields:
        raise EventError("'currency' goes with an 'amount'")
    values: dict[str, Any] = {}
    for name in fields:
        if name == "type":
            continue
        if name in INTEGER_FIELDS:
            values[name] = _integer(fields, name)
        elif name in TIME_FIELDS:
            values[name] = _time(fields, name)
        else:
            values[name] = _text(fields, name)
    return ImportEvent(line=line, type=event_type, **values)


def _a(event_type: EventType) -> str:
    return ("an " if event_type.value[0] in "aeiou" else "a ") + event_type.value


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields[name]
    if not isinstance(value, str):
        raise EventError(f"{name!r} must be a string")
    if len(value) > TEXT_LIMITS[name] or not value.isprintable():
        raise EventError(f"{name!r} must be at most {TEXT_LIMITS[name]} printable characters")
    return value


def _integer(fields: dict[str, Any], name: str) -> int:
    value = fields[name]
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        value = int(value.strip())
    if type(value) is not int:
        raise EventError(f"{name!r} must be a whole number, got {fields[name]!r}")
    if abs(value) > MAX_POINTS:
        raise EventError(f"{name!r} is out of range (at most {MAX_POINTS:,})")
    return value


def _time(fields: dict[str, Any], name: str) -> datetime:
    value = fields[name]
    try:
        if not isinstance(value, str):
            raise ValueError
        return as_utc(datetime.fromisoformat(value.strip()))
    except (ValueError, OverflowError):
        raise EventError(f"{name!r} must be an ISO 8601 time with a zone, like 2026-01-31T09:30:00+09:00, "
                         f"got {value!r}") from None
