"""The names an expression may use: five roots, each with declared fields, each field with
a type, and the custom fields a ruleset declares for its own event types
(`event.fields.<name>`, typed by the declaration). Anything not listed here or declared is
refused when a ruleset is validated, never looked up at evaluation time, so an expression
cannot reach an attribute the author did not mean."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Type(Enum):
    INT = "integer"
    STR = "string"
    BOOL = "boolean"
    TIME = "time"  # an aware datetime; only functions (days_since) accept it
    STRS = "list of strings"
    INTS = "list of integers"
    NONE = "None"


@dataclass(frozen=True, slots=True)
class Field:
    path: str  # attribute path on Facts, e.g. "event.amount"
    type: Type
    nullable: bool = False


ROOTS: dict[str, dict[str, Field]] = {
    "event": {
        "type": Field("event.type", Type.STR),
        "amount": Field("event.amount", Type.INT),
        "currency": Field("event.currency", Type.STR, nullable=True),
        "order_id": Field("event.order_id", Type.STR, nullable=True),
        "categories": Field("event.categories", Type.STRS),
        "item_count": Field("event.item_count", Type.INT),
        "referrer": Field("event.referrer", Type.STR, nullable=True),
        "tags": Field("event.tags", Type.STRS),
        # The event's moment in the member's time zone (the same values as now.*).
        "weekday": Field("now.weekday", Type.INT),
        "hour": Field("now.hour", Type.INT),
        "date": Field("now.date", Type.STR),
    },
    "member": {
        "id": Field("member.member_id", Type.STR),
        "tier": Field("member.tier", Type.STR, nullable=True),
        "tags": Field("member.tags", Type.STRS),
        "purchases_this_month": Field("member.purchases_this_month", Type.INT),
        "purchases_total": Field("member.purchases_total", Type.INT),
        "spend_this_quarter": Field("member.spend_this_quarter", Type.INT),
        "first_purchase": Field("member.first_purchase", Type.BOOL),
        "enrolled_at": Field("member.enrolled_at", Type.TIME),
        "time_zone": Field("member.time_zone", Type.STR),
        "birthday_month": Field("member.birthday_month", Type.INT, nullable=True),
        "birthday_day": Field("member.birthday_day", Type.INT, nullable=True),
    },
    # The order the event names (event.order_id), as recorded before the event (facts.OrderFacts).
    "order": {
        "exists": Field("order.exists", Type.BOOL),
        "mine": Field("order.mine", Type.BOOL),
        "refunded": Field("order.refunded", Type.BOOL),
        "amount": Field("order.amount", Type.INT),
    },
    "now": {
        "year": Field("now.year", Type.INT),
        "month": Field("now.month", Type.INT),
        "day": Field("now.day", Type.INT),
        "weekday": Field("now.weekday", Type.INT),
        "hour": Field("now.hour", Type.INT),
        "date": Field("now.date", Type.STR),
        "instant": Field("now.instant", Type.TIME),
    },
    "program": {
        "id": Field("program.id", Type.STR),
        "currency": Field("program.currency", Type.STR),
    },
}

# `event.fields.<name>`: a custom field declared under `event_types` (never a key of ROOTS["event"]).
EVENT_FIELDS = "fields"
# The types a custom event field may declare, by their name in the document.
FIELD_TYPES: dict[str, Type] = {kind.value: kind for kind in (Type.INT, Type.STR, Type.BOOL)}


def event_field(name: str, kind: Type, defaulted: bool = False) -> Field:
    """A declared custom field: nullable, as an event may not carry it (a purchase never does),
    unless every event type it is read on declares a default for it."""
    return Field(f"event.{EVENT_FIELDS}.{name}", kind, nullable=not defaulted)
