"""Business events: record one (idempotent by event id) or quote it (nothing written)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..auth import AuthenticatedRoute, ReadKey, WriteKey
from ..deps import ProgramIdPath, ServicesDep
from ..lanes import WriteLaneDep
from ..problems import problem_responses
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
async def record(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                 body: EventIn) -> JSONResponse:
    return JSONResponse(await lane.run(services.events.record, program_id, event_input(body)))


@router.post("/quote", response_model=EventResultOut, summary="What an event would earn (nothing is written)",
             description="The same answer as recording it, with `recorded: false`.", responses=QUOTE_PROBLEMS)
def quote(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath, body: EventIn) -> JSONResponse:
    return JSONResponse(services.events.quote(program_id, event_input(body)))
