"""Insight: program KPIs per day, week or month."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from ...insight.kpis import PointValue
from ...service.insight.kpis import ProgramKpis
from ..auth import AuthenticatedRoute, ReadKey
from ..deps import ProgramIdPath, ServicesDep
from ..insight_schemas import KpiReport
from ..problems import problem_responses
from ..responses import JSONResponse

router = APIRouter(prefix="/v1/programs/{program_id}/insight", tags=["insight"], route_class=AuthenticatedRoute)
READ_PROBLEMS = problem_responses(401, 403, 404, 422)


@router.get("/kpis", response_model=KpiReport, summary="Program KPIs per day, week or month",
            description="Enrolments, active members (30 and 90 days), points issued, redeemed, expired, reversed, "
                        "adjusted and outstanding, liability at a point value, redemption rate, breakage, purchases, "
                        "revenue, average order, repeat-purchase rate; tier distribution now. UTC days; the range "
                        "defaults to the last 90 days. Definitions in docs/insight.md.",
            responses=READ_PROBLEMS)
def kpis(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
         period: Annotated[Literal["day", "week", "month"], Query()] = "month",
         from_: Annotated[date | None, Query(alias="from", description="First day (ISO date)")] = None,
         to: Annotated[date | None, Query(description="Last day (ISO date); today by default")] = None,
         point_value_minor: Annotated[int, Query(ge=0, le=10**9, description="A point value: minor units ...")] = 1,
         point_value_points: Annotated[int, Query(ge=1, le=10**9, description="... per this many points")] = 1,
         ) -> JSONResponse:
    report = ProgramKpis(services.db, services.clock).report(
        program_id, period, from_, to, PointValue(point_value_minor, point_value_points))
    return JSONResponse(report)
