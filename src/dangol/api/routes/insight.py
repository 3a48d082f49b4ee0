"""Insight: program KPIs per day, week or month; experiments (design, exposures, report)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from ...insight.kpis import PointValue
from ...service.insight.experiments import Experiments
from ...service.insight.kpis import ProgramKpis
from ..auth import AuthenticatedRoute, ReadKey, WriteKey
from ..deps import ProgramIdPath, ServicesDep
from ..idempotency import IdempotencyKey
from ..insight_schemas import Experiment, ExperimentIn, ExperimentReport, Exposure, ExposureIn, KpiReport
from ..lanes import WriteLaneDep
from ..problems import problem_responses
from ..responses import JSONResponse

router = APIRouter(prefix="/v1/programs/{program_id}/insight", tags=["insight"], route_class=AuthenticatedRoute)
READ_PROBLEMS = problem_responses(401, 403, 404, 422)
WRITE_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422)
ExperimentIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Experiment id")]


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


@router.post("/experiments", response_model=Experiment, summary="Create an experiment",
             description="Variants and their weights (the first is the control). Members are assigned by a hash of "
                         "the experiment and member ids: deterministic. The same design again answers the same; "
                         "another design under an existing id is a 409.",
             responses=WRITE_PROBLEMS)
async def create_experiment(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                            idempotency_key: IdempotencyKey, body: ExperimentIn) -> JSONResponse:
    experiments = Experiments(services.db, services.clock)
    return JSONResponse(await lane.run(experiments.create, program_id, body.experiment_id,
                                       [(v.name, v.weight) for v in body.variants], idempotency_key))


@router.post("/experiments/{experiment_id}/exposures", response_model=Exposure, summary="Record an exposure",
             description="The member saw the experiment: answers their variant and records the first exposure "
                         "(later calls answer the first one).",
             responses=WRITE_PROBLEMS)
async def expose(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                 experiment_id: ExperimentIdPath, idempotency_key: IdempotencyKey, body: ExposureIn) -> JSONResponse:
    experiments = Experiments(services.db, services.clock)
    return JSONResponse(await lane.run(experiments.expose, program_id, experiment_id, body.member_id,
                                       idempotency_key))


@router.get("/experiments/{experiment_id}/report", response_model=ExperimentReport,
            summary="An experiment's sample-ratio check and effects",
            description="Spend per exposed member in the `days` after exposure, per variant against the control: "
                        "Welch and always-valid (mSPRT) intervals, CUPED on the `days` before exposure. A sample-ratio "
                        "mismatch withholds every effect. Too few members is a 422 saying why.",
            responses=READ_PROBLEMS)
def experiment_report(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath, experiment_id: ExperimentIdPath,
                      days: Annotated[int, Query(ge=1, le=366)] = 28) -> JSONResponse:
    return JSONResponse(Experiments(services.db, services.clock).report(program_id, experiment_id, days))
