"""A member's profile (the facts rules read) and referral code."""

from __future__ import annotations

from fastapi import APIRouter

from ..auth import AuthenticatedRoute, ReadKey, WriteKey
from ..deps import MemberIdPath, ProgramIdPath, ServicesDep
from ..idempotency import IdempotencyKey
from ..lanes import WriteLaneDep
from ..problems import problem_responses
from ..responses import JSONResponse
from ..rules_responses import ReferralCodeOut
from ..rules_schemas import ProfileIn
from ..schemas import ProfileUpdated

router = APIRouter(prefix="/v1/programs/{program_id}/members/{member_id}", tags=["members"],
                   route_class=AuthenticatedRoute)


@router.patch("", response_model=ProfileUpdated, summary="Change a member's profile",
              description="Time zone (IANA), birthday month and day, tags, display name, leaderboard opt-in. "
                          "Only the fields sent change; null clears one.",
              responses=problem_responses(400, 401, 403, 404, 409, 413, 422, why={404: "Unknown program or member"}))
async def update_profile(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                         member_id: MemberIdPath, body: ProfileIn, idempotency_key: IdempotencyKey) -> JSONResponse:
    changes = body.model_dump(exclude_unset=True)
    return JSONResponse({"profile": await lane.run(services.profiles.update, program_id, member_id, changes,
                                                   idempotency_key)})


@router.get("/referral-code", response_model=ReferralCodeOut, summary="The member's referral code (made on first ask)",
            responses=problem_responses(401, 403, 404, 422, why={404: "Unknown program or member"}))
async def referral_code(key: ReadKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                        member_id: MemberIdPath) -> JSONResponse:
    return JSONResponse(await lane.run(services.referrals.code_for, program_id, member_id))
