"""Engagement: redeeming coupons; a member's coupons, badges and challenges; leaderboards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ..auth import AuthenticatedRoute, ReadKey, WriteKey
from ..deps import MemberIdPath, ProgramIdPath, ServicesDep
from ..engagement_schemas import BadgeList, ChallengeList, CouponList, Leaderboard, RedeemCouponIn, Redeemed
from ..idempotency import IdempotencyKey
from ..lanes import WriteLaneDep
from ..problems import problem_responses
from ..responses import JSONResponse

router = APIRouter(prefix="/v1/programs/{program_id}", tags=["engagement"], route_class=AuthenticatedRoute)
WRITE_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422)
READ_PROBLEMS = problem_responses(401, 403, 404, 422)
CouponCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="Coupon code")]


@router.post("/coupons/{code}/redeem", response_model=Redeemed, summary="Redeem a coupon",
             description="Marks the coupon redeemed; a points coupon credits its points. With `order_amount`, "
                         "the answer says what a discount coupon takes off it. A redeemed or expired coupon is a 409.",
             responses=WRITE_PROBLEMS)
async def redeem(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                 code: CouponCode, idempotency_key: IdempotencyKey, body: RedeemCouponIn | None = None) -> JSONResponse:
    amount = body.order_amount if body else None
    return JSONResponse(await lane.run(services.engagement.redeem_coupon, program_id, code, idempotency_key, amount))


@router.get("/members/{member_id}/coupons", response_model=CouponList, summary="A member's coupons",
            responses=READ_PROBLEMS)
def coupons(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath, member_id: MemberIdPath) -> JSONResponse:
    services.reader.member(program_id, member_id)  # 404 for a member not in the program
    return JSONResponse({"items": services.engagement.coupons(program_id, member_id)})


@router.get("/members/{member_id}/badges", response_model=BadgeList, summary="A member's badges",
            responses=READ_PROBLEMS)
def badges(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath, member_id: MemberIdPath) -> JSONResponse:
    services.reader.member(program_id, member_id)
    return JSONResponse({"items": services.engagement.badges(program_id, member_id)})


@router.get("/members/{member_id}/challenges", response_model=ChallengeList,
            summary="A member's challenge progress, per period", responses=READ_PROBLEMS)
def challenges(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
               member_id: MemberIdPath) -> JSONResponse:
    services.reader.member(program_id, member_id)
    return JSONResponse({"items": services.engagement.challenges(program_id, member_id)})


@router.get("/leaderboards/monthly", response_model=Leaderboard, summary="Monthly top earners (opt-in)",
            description="Members who opted in, by points earned in the calendar month of the program's time zone (its rules policy's default_time_zone, UTC unless set), under the display "
                        "name they chose. Needs a read key: names are not published to the world.",
            responses=READ_PROBLEMS)
def monthly(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
            month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", examples=["2025-03"])],
            limit: Annotated[int, Query(ge=1, le=100)] = 10) -> JSONResponse:
    return JSONResponse(services.leaderboards.monthly(program_id, month, limit))
