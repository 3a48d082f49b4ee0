"""Tiers: a member's tier, benefits and progress; the history of their tier; and the
recalculation of a program's tiers (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from ...service.container import Services
from ...service.reads import MAX_PAGE
from ..auth import AdminKey, AuthenticatedRoute, ReadKey
from ..deps import MemberIdPath, ProgramIdPath, ServicesDep
from ..idempotency import IdempotencyKey, StoredResponses
from ..lanes import WriteLaneDep
from ..problems import problem_responses
from ..responses import JSONResponse
from ..schemas import Instant, MetricOut, RequestModel, WindowOut
from .ledger import Cursor, _page

router = APIRouter(prefix="/v1/programs/{program_id}", tags=["tiers"], route_class=AuthenticatedRoute)
READ_PROBLEMS = problem_responses(401, 403, 404, 422)


class EarnBonusOut(BaseModel):
    points: int
    per: int


class BenefitsOut(BaseModel):
    earn_bonus: EarnBonusOut | None = Field(description="Extra points per `per` minor units of a purchase")
    multiplier: int | None = Field(description="Multiplies the points the base rules grant a purchase")
    perks: list[str]
    badge: str | None
    gifting: bool = Field(description="The tier's members may transfer points (when some tier of the ladder has it)")


class TierOut(BaseModel):
    name: str
    threshold: int = Field(description="The metric a window must reach to qualify")
    benefits: BenefitsOut


class MemberTierOut(BaseModel):
    program_id: str
    member_id: str
    at: datetime
    tier: TierOut
    since: datetime | None = Field(description="When the member reached the tier; null for the first tier, never left")
    metric: MetricOut = Field(description="The qualifying metric in the current window so far")
    window: WindowOut
    next_tier: TierOut | None
    remaining: int | None = Field(description="What the metric still needs to reach the next tier")
    qualifies_for: str = Field(description="The tier the current window so far qualifies for")
    review_at: datetime = Field(description="The end of the window under review")
    grace_days: int
    grace_until: datetime | None = Field(description="Set while a downgrade waits out the grace period")
    drops_at: datetime | None = Field(description="When the tier drops if nothing more qualifies")


class TierChangeOut(BaseModel):
    id: int
    from_: str = Field(alias="from")
    to: str
    reason: str = Field(description="upgrade, downgrade, grace or manual")
    metric: int
    at: datetime
    window: WindowOut
    recorded_at: datetime


class TierHistoryPage(BaseModel):
    items: list[TierChangeOut]
    next_cursor: str | None


class RecalculateIn(RequestModel):
    at: Instant | None = Field(None, description="Recalculate as of this time (not in the future); now when absent")


class RecalculationOut(BaseModel):
    program_id: str
    at: datetime
    members: int
    changes: int
    upgrades: int
    downgrades: int
    grace: int
    resumed: bool = Field(description="Whether an interrupted run for the same instant was continued")


@router.get("/members/{member_id}/tier", response_model=MemberTierOut,
            summary="A member's tier, its benefits and the progress to the next", responses=READ_PROBLEMS)
def member_tier(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
                member_id: MemberIdPath) -> JSONResponse:
    return JSONResponse(services.tiers.member_view(program_id, member_id))


@router.get("/members/{member_id}/tier/history", response_model=TierHistoryPage,
            summary="Every change of a member's tier", description="Newest first.", responses=READ_PROBLEMS)
def tier_history(key: ReadKey, services: ServicesDep, request: Request, program_id: ProgramIdPath,
                 member_id: MemberIdPath, cursor: Cursor = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20) -> JSONResponse:
    return _page(request, services.tiers.history(program_id, member_id, cursor=cursor, limit=limit))


@router.post("/tiers/recalculate", response_model=RecalculationOut,
             summary="Recalculate every member's tier (admin)",
             description="Applies due upgrades, and the downgrades of windows that ended (after their "
                         "grace). Running it again for the same instant changes nothing; a replay with "
                         "the same Idempotency-Key returns the first run's counts.",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422))
async def recalculate(key: AdminKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                      idempotency_key: IdempotencyKey, body: RecalculateIn | None = None) -> JSONResponse:
    return JSONResponse(await lane.run(_recalculate, services, program_id, body.at if body else None,
                                       idempotency_key))


def _recalculate(services: Services, program_id: str, at: datetime | None, idempotency_key: str) -> Any:
    return StoredResponses(services, program_id).once(
        idempotency_key, {"tier_recalculation": {"at": at}},
        lambda: services.tiers.recalculate(program_id, at).as_json())
