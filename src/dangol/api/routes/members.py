"""Members: enrolment, lookup by the brand's reference, and status changes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ...domain import MemberStatus
from ...domain import commands as cmd
from ...domain.errors import UnknownMember
from ..auth import AuthenticatedRoute, ReadKey, WriteKey
from ..deps import MemberIdPath, ProgramIdPath, ServicesDep
from ..idempotency import IdempotencyKey
from ..lanes import WriteLane, WriteLaneDep
from ..problems import problem_responses
from ..responses import JSONResponse
from ..schemas import Enrolled, EnrollIn, MemberList, MemberWithProfile, Reference, StatusChangeIn, StatusReceipt

router = APIRouter(prefix="/v1/programs/{program_id}/members", tags=["members"], route_class=AuthenticatedRoute)
WRITE_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422)
READ_PROBLEMS = problem_responses(401, 403, 404, 422)


@router.post("", status_code=201, response_model=Enrolled, summary="Enrol a member",
             responses=WRITE_PROBLEMS)
async def enroll(key: WriteKey, lane: WriteLaneDep, program_id: ProgramIdPath, body: EnrollIn,
           idempotency_key: IdempotencyKey) -> JSONResponse:
    receipt = await lane.ledger(program_id, cmd.Enroll(body.external_ref), idempotency_key)
    location = f"/v1/programs/{program_id}/members/{receipt['member']['id']}"
    return JSONResponse(receipt, status_code=201, headers={"Location": location})


@router.get("", response_model=MemberList, summary="Find a member by the brand's reference",
            description="Returns the member enrolled with `external_ref`, or no items.",
            responses=READ_PROBLEMS)
def find_members(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
                 external_ref: Annotated[Reference, Query()]) -> JSONResponse:
    services.programs.get_program(program_id)  # an unknown program is a 404, not an empty list
    try:
        found = services.reader.member_by_ref(program_id, external_ref)
        items = [{**found, "profile": services.profiles.read(program_id, found["id"])}]
    except UnknownMember:
        items = []
    return JSONResponse({"items": items})


@router.get("/{member_id}", response_model=MemberWithProfile, summary="Read a member", responses=READ_PROBLEMS)
def get_member(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
               member_id: MemberIdPath) -> JSONResponse:
    return JSONResponse({**services.reader.member(program_id, member_id),
                         "profile": services.profiles.read(program_id, member_id)})


async def _set_status(lane: WriteLane, program_id: str, member_id: str,
                      status: MemberStatus, body: StatusChangeIn | None, idempotency_key: str) -> JSONResponse:
    command = cmd.SetMemberStatus(member_id, status, body.reason if body else None)
    return JSONResponse(await lane.ledger(program_id, command, idempotency_key))


@router.post("/{member_id}/suspend", response_model=StatusReceipt, summary="Suspend a member",
             responses=WRITE_PROBLEMS)
async def suspend(key: WriteKey, lane: WriteLaneDep, program_id: ProgramIdPath,
                  member_id: MemberIdPath, idempotency_key: IdempotencyKey,
                  body: StatusChangeIn | None = None) -> JSONResponse:
    return await _set_status(lane, program_id, member_id, MemberStatus.SUSPENDED, body, idempotency_key)


@router.post("/{member_id}/reactivate", response_model=StatusReceipt, summary="Reactivate a suspended member",
             responses=WRITE_PROBLEMS)
async def reactivate(key: WriteKey, lane: WriteLaneDep, program_id: ProgramIdPath,
                     member_id: MemberIdPath, idempotency_key: IdempotencyKey,
                     body: StatusChangeIn | None = None) -> JSONResponse:
    return await _set_status(lane, program_id, member_id, MemberStatus.ACTIVE, body, idempotency_key)


@router.post("/{member_id}/close", response_model=StatusReceipt, summary="Close a member's account",
             description="Closing is final: active holds are voided and the remaining points forfeited.",
             responses=WRITE_PROBLEMS)
async def close(key: WriteKey, lane: WriteLaneDep, program_id: ProgramIdPath,
                member_id: MemberIdPath, idempotency_key: IdempotencyKey,
                body: StatusChangeIn | None = None) -> JSONResponse:
    return await _set_status(lane, program_id, member_id, MemberStatus.CLOSED, body, idempotency_key)
