"""Request bodies of the rules endpoints: rulesets, member profiles, events."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, Strict, StringConstraints

from ..domain import Money
from ..engagement import Item
from ..service.events import EventInput
from .schemas import Currency, Instant, MinorUnits, Reason, Reference, RequestModel

MAX_DOCUMENT = 60_000  # characters: under the API's 64 KiB body limit
Label = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


class RulesetIn(RequestModel):
    document: Annotated[str | dict[str, Any], Field(
        description="The ruleset document: YAML or JSON text, or a JSON object")]
    format: Literal["yaml", "json"] | None = Field(None, description="Guessed from the text when absent")
    effective_from: Instant | None = Field(None, description="Overrides the document's effective_from")
    urgent: Annotated[bool, Strict()] = Field(False, description="Publish a worsening change without notice")
    reason: Reason | None = Field(None, description="Why an urgent change could not wait; shown to members")


class RulePolicyIn(RequestModel):
    notice_days: Annotated[int, Strict(), Field(ge=0, le=3650)]
    default_time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "UTC"


class ProfileIn(RequestModel):
    """Only the fields sent change; null clears an optional one."""

    time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    birthday_month: Annotated[int, Strict(), Field(ge=1, le=12)] | None = None
    birthday_day: Annotated[int, Strict(), Field(ge=1, le=31)] | None = None
    tags: Annotated[list[Label], Field(max_length=50)] | None = None
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=100,
                                                   pattern=r"^[^\x00-\x1f\x7f-\x9f]*$")] | None = None
    leaderboard_opt_in: Annotated[bool, Strict()] | None = None


class EventMoneyIn(RequestModel):
    amount: MinorUnits
    currency: Currency


class ItemIn(RequestModel):
    category: Label
    amount: MinorUnits = 0
    quantity: Annotated[int, Strict(), Field(ge=1, le=1_000_000)] = 1


class EventIn(RequestModel):
    event_id: Reference
    type: Label
    member_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")] | None = None
    external_ref: Reference | None = Field(None, description="signup: the brand's customer reference to enrol")
    occurred_at: Instant | None = None
    amount: EventMoneyIn | None = None
    order_id: Reference | None = None
    items: Annotated[list[ItemIn], Field(max_length=200)] = []
    referral_code: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    fields: Annotated[dict[str, str | int | bool | None], Field(max_length=50)] = {}
    tags: Annotated[list[Label], Field(max_length=50)] = []


def event_input(body: EventIn) -> EventInput:
    """The service's value of a validated body (the API's and the CLI's JSONL lines)."""
    return EventInput(
        event_id=body.event_id, type=body.type, member_id=body.member_id, external_ref=body.external_ref,
        occurred_at=body.occurred_at, amount=Money(body.amount.amount, body.amount.currency) if body.amount else None,
        order_id=body.order_id, items=tuple(Item(i.category, i.amount, i.quantity) for i in body.items),
        referral_code=body.referral_code, fields=tuple(sorted(body.fields.items())), tags=tuple(body.tags))
