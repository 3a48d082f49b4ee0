"""Two-phase redemption at the point of sale: place a hold, then capture or void it."""

from __future__ import annotations

from fastapi import APIRouter

from ...domain import commands as cmd
from ..auth import AuthenticatedRoute, ReadKey, WriteKey
from ..deps import HoldIdPath, MemberIdPath, ProgramIdPath, ServicesDep
from ..idempotency import IdempotencyKey
from ..lanes import WriteLaneDep
from ..problems import problem_responses
from ..responses import JSONResponse
from ..schemas import CaptureIn, HoldIn, HoldOut, HoldPlaced, HoldSettled

router = APIRouter(prefix="/v1/programs/{program_id}", tags=["holds"], route_class=AuthenticatedRoute)
WRITE_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422)


@router.post("/members/{member_id}/holds", status_code=201, response_model=HoldPlaced,
             summary="Hold points for a purchase",
             description="Reserves points until captured, voided, or the timeout passes (then they return).",
             responses=WRITE_PROBLEMS)
async def place_hold(key: WriteKey, lane: WriteLaneDep, program_id: ProgramIdPath,
                     member_id: MemberIdPath, body: HoldIn, idempotency_key: IdempotencyKey) -> JSONResponse:
    command = cmd.PlaceHold(member_id, body.points, timeout_seconds=body.timeout_seconds, order_ref=body.order_ref)
    receipt = await lane.ledger(program_id, command, idempotency_key)
    location = f"/v1/programs/{program_id}/holds/{receipt['hold']['id']}"
    return JSONResponse(receipt, status_code=201, headers={"Location": location})


@router.get("/holds/{hold_id}", response_model=HoldOut, summary="Read a hold",
            responses=problem_responses(401, 403, 404, 422))
def get_hold(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath, hold_id: HoldIdPath) -> JSONResponse:
    return JSONResponse(services.reader.hold(program_id, hold_id))


@router.post("/holds/{hold_id}/capture", response_model=HoldSettled, summary="Capture a hold",
             description="Redeems the held points (or fewer, given `points`); the rest return to the member.",
             responses=WRITE_PROBLEMS)
async def capture(key: WriteKey, lane: WriteLaneDep, program_id: ProgramIdPath,
                  hold_id: HoldIdPath, idempotency_key: IdempotencyKey, body: CaptureIn | None = None) -> JSONResponse:
    command = cmd.CaptureHold(hold_id, body.points if body else None)
    return JSONResponse(await lane.ledger(program_id, command, idempotency_key))


@router.post("/holds/{hold_id}/void", response_model=HoldSettled, summary="Void a hold",
             description="Returns the held points to the member.", responses=WRITE_PROBLEMS)
async def void(key: WriteKey, lane: WriteLaneDep, program_id: ProgramIdPath, hold_id: HoldIdPath,
         idempotency_key: IdempotencyKey) -> JSONResponse:
    return JSONResponse(await lane.ledger(program_id, cmd.VoidHold(hold_id), idempotency_key))
