"""Many business events at once: `POST …/events:batch`, and the lines of `dangol events send`.

Each event is validated on its own and answered in its place, with the answer sending it
alone to `POST …/events` would have had: its result, or the problem that refused it. So one
bad event (malformed, or refused by the ledger or the rules) costs no other its place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError, WithJsonSchema

from ..domain.errors import DomainError
from ..service.events import EventInput
from .problems import Problem, domain_problem, first_issue, validation_issues, validation_problem
from .rules_schemas import EventIn, event_input
from .schemas import RequestModel

MAX_BATCH_EVENTS = 1_000

# Each item is taken as it comes and validated alone (`parse_event`), so that a bad one is
# refused in its place instead of failing the whole request; the document still shows the
# shape every item must have.
RawEvent = Annotated[Any, WithJsonSchema({"$ref": "#/components/schemas/EventIn"})]


class EventBatchIn(RequestModel):
    events: Annotated[list[RawEvent], Field(
        min_length=1, max_length=MAX_BATCH_EVENTS,
        description=f"1 to {MAX_BATCH_EVENTS:,} events, each as `POST …/events` takes it, judged in this order")]


class EventBatchItem(BaseModel):
    index: int = Field(description="The event's position in `events`, from 0")
    event_id: str | None = Field(description="The event's id, if it had a valid one")
    status: int = Field(description="The status sending the event alone would have had: 200, or the problem's")
    result: dict[str, Any] | None = Field(None, description="The answer of `POST …/events`, when `status` is 200")
    problem: Problem | None = Field(None, description="Why the event was refused, otherwise: nothing of it was written")


class EventBatchOut(BaseModel):
    recorded: int = Field(description="Events with a result (recorded now, or before under the same id and body)")
    refused: int = Field(description="Events refused, each with its problem")
    results: list[EventBatchItem] = Field(description="One answer per event, in the order sent")


@dataclass(frozen=True, slots=True)
class InvalidEvent:
    """An item that is not a valid event: every invalid value, as a validation problem lists them."""

    issues: list[dict[str, Any]]

    @property
    def detail(self) -> str:
        return first_issue(self.issues)


def parse_event(raw: Any, where: Sequence[str | int] = ()) -> EventInput | InvalidEvent:
    """The event in `raw` (parsed JSON), or what is wrong with it; `where` prefixes the
    locations of its invalid values."""
    try:
        # As FastAPI validates a body (from attributes too), so the errors are the single endpoint's.
        return event_input(EventIn.model_validate(raw, from_attributes=True))
    except ValidationError as error:
        issues = validation_issues(error.errors(include_url=False, include_context=False))
        for issue in issues:
            issue["loc"] = [*where, *issue["loc"]]
        return InvalidEvent(issues)


def answer(instance: str, raw: Any, outcome: dict[str, Any] | DomainError | InvalidEvent) -> dict[str, Any]:
    """One event's answer, without its position: the caller adds `index` (or `line`)."""
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    item: dict[str, Any] = {"event_id": event_id if isinstance(event_id, str) else None}
    if isinstance(outcome, InvalidEvent):
        problem = validation_problem(instance, outcome.issues)
    elif isinstance(outcome, DomainError):
        problem = domain_problem(instance, outcome)
    else:
        item["status"] = 200
        item["result"] = outcome
        return item
    item["status"] = problem["status"]
    item["problem"] = problem
    return item


def judged(parsed: Sequence[EventInput | InvalidEvent],
           outcomes: Sequence[dict[str, Any] | DomainError]) -> list[dict[str, Any] | DomainError | InvalidEvent]:
    """Every item's outcome in its place: the invalid ones as they are, the others' from
    `outcomes` (what recording the valid ones, in order, gave)."""
    recorded = iter(outcomes)
    return [item if isinstance(item, InvalidEvent) else next(recorded) for item in parsed]
