"""Business events: record one or many (idempotent by event id), or quote one (nothing written)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...service.events import EventInput
from ..auth import AuthenticatedRoute, ReadKey, WriteKey
from ..deps import ProgramIdPath, ServicesDep
from ..event_batches import MAX_BATCH_EVENTS, EventBatchIn, EventBatchOut, answer, judged, parse_event
from ..lanes import WriteLaneDep
from ..limits import MAX_BATCH_BODY_BYTES
from ..problems import problem_responses
from ..responses import JSONResponse
from ..rules_responses import EventResultOut
from ..rules_schemas import EventIn, event_input

router = APIRouter(prefix="/v1/programs/{program_id}/events", tags=["events"], route_class=AuthenticatedRoute)
REFUSED = "refused by the ledger's state (a refund beyond its order, a member not active, a referral refused)"
PROBLEMS = problem_responses(401, 403, 404, 409, 413, 422, why={
    409: f"The event id was recorded with another body, or the event is {REFUSED}"})
QUOTE_PROBLEMS = problem_responses(401, 403, 404, 409, 413, 422, why={409: f"The event is {REFUSED}"})


@router.post("", response_model=EventResultOut, summary="Record a business event",
             description="Judged by the ruleset in force at `occurred_at` (default: now); every effect is "
                         "returned. Idempotent by `event_id`: the same body again gets the same answer, "
                         "another body a 409. No Idempotency-Key header is needed. See docs/rules.md.",
             responses=PROBLEMS)
async def record(key: WriteKey, lane: WriteLaneDep, program_id: ProgramIdPath,
                 body: EventIn) -> JSONResponse:
    return JSONResponse(await lane.event(program_id, event_input(body)))


@router.post(":batch", response_model=EventBatchOut, summary="Record many business events",
             description=f"1 to {MAX_BATCH_EVENTS:,} events (a body of up to {MAX_BATCH_BODY_BYTES // 2**20} MiB), "
                         "each as `POST …/events` takes it, judged in order. Every event is answered in its place "
                         "as sending it alone would have been: `status` 200 and its `result`, or the `problem` "
                         "that refused it (a validation error too), which leaves nothing of it behind and costs "
                         "no other event anything. Idempotent by each `event_id`, so the whole batch may be "
                         "sent again. A 422 for the request as a whole only when the envelope is malformed. "
                         "See docs/api.md.",
             responses=PROBLEMS)
async def record_batch(key: WriteKey, lane: WriteLaneDep, program_id: ProgramIdPath,
                       body: EventBatchIn, request: Request) -> JSONResponse:
    parsed = [parse_event(raw, ("body", "events", index)) for index, raw in enumerate(body.events)]
    events = [event for event in parsed if isinstance(event, EventInput)]
    outcomes = await lane.events(program_id, events)
    instance = request.url.path
    results = [{"index": index} | answer(instance, raw, outcome)
               for index, (raw, outcome) in enumerate(zip(body.events, judged(parsed, outcomes)))]
    refused = sum(1 for item in results if item["status"] != 200)
    return JSONResponse({"recorded": len(results) - refused, "refused": refused, "results": results})


@router.post("/quote", response_model=EventResultOut, summary="What an event would earn (nothing is written)",
             description="The same answer as recording it, with `recorded: false`.", responses=QUOTE_PROBLEMS)
def quote(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath, body: EventIn) -> JSONResponse:
    return JSONResponse(services.events.quote(program_id, event_input(body)))
