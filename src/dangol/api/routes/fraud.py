"""Fraud detection: the review queue of flagged and held events, and the anomaly scores."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from ...service.privacy.audit import api_actor
from ...service.staff.audit import Actor
from ..auth import AuthenticatedRoute, ReadKey, WriteKey
from ..deps import ProgramIdPath, ServicesDep
from ..fraud_schemas import AnomalyScores, FraudReviewOut, FraudReviewPage
from ..idempotency import IdempotencyKey
from ..lanes import WriteLaneDep
from ..problems import problem_responses
from ..responses import JSONResponse

router = APIRouter(prefix="/v1/programs/{program_id}/fraud", tags=["fraud"], route_class=AuthenticatedRoute)
READ_PROBLEMS = problem_responses(401, 403, 404, 422)
WRITE_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422)
ReviewId = Annotated[int, Path(ge=1, le=10**18, description="The review's id")]
Cursor = Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$", description="`next_cursor` of the previous page")]
SETTLE = ("Settling it the same way again answers as the first time did; settling it the other way is a 409 "
          "(`review-settled`). The Idempotency-Key is stored with the settlement: the same key for another "
          "review or decision is a 409. Written with the audit log; tells `fraud.review_settled`.")


@router.get("/reviews", response_model=FraudReviewPage, summary="The fraud review queue",
            description="Flagged and held events, oldest first; `status` narrows (default: open).",
            responses=READ_PROBLEMS)
def list_reviews(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
                 status: Literal["open", "released", "reversed", "all"] = "open", cursor: Cursor = None,
                 limit: Annotated[int, Query(ge=1, le=200, description="1 to 200")] = 50) -> JSONResponse:
    page = services.fraud_reviews.list(program_id, None if status == "all" else status, cursor=cursor, limit=limit)
    return JSONResponse({"items": page.items, "next_cursor": page.next_cursor})


@router.post("/reviews/{review_id}:release", response_model=FraudReviewOut, summary="Release a review",
             description="Held points become available now (a `release` transaction). " + SETTLE,
             responses=WRITE_PROBLEMS)
async def release_review(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                         review_id: ReviewId, idempotency_key: IdempotencyKey) -> JSONResponse:
    return JSONResponse(await lane.run(services.fraud_reviews.release, program_id, review_id,
                                     Actor(api_actor(key.id)), idempotency_key))


@router.post("/reviews/{review_id}:reverse", response_model=FraudReviewOut, summary="Reverse a review",
             description="The event's points are taken back, pending or not (a `reverse` transaction per earn). "
                         + SETTLE, responses=WRITE_PROBLEMS)
async def reverse_review(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                         review_id: ReviewId, idempotency_key: IdempotencyKey) -> JSONResponse:
    return JSONResponse(await lane.run(services.fraud_reviews.reverse, program_id, review_id,
                                     Actor(api_actor(key.id)), idempotency_key))


@router.get("/scores", response_model=AnomalyScores, summary="The most anomalous members",
            description="The last `dangol fraud score` run's scores, highest first.", responses=READ_PROBLEMS)
def anomaly_scores(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
                   limit: Annotated[int, Query(ge=1, le=1000, description="1 to 1000")] = 20) -> JSONResponse:
    return JSONResponse({"items": services.anomaly.top(program_id, limit)})
