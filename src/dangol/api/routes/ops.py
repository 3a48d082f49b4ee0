"""Operations: health, readiness, and expiry runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.exc import SQLAlchemyError

from ...service.container import Services
from ...storage.migrate import current_revision, head_revision
from ..auth import AuthenticatedRoute, WriteKey
from ..deps import ProgramIdPath, ServicesDep
from ..idempotency import IdempotencyKey, StoredResponses
from ..lanes import WriteLaneDep
from ..problems import problem_response, problem_responses
from ..responses import JSONResponse
from ..schemas import ExpiryReportOut, ExpiryRunIn, Health, Readiness

router = APIRouter(tags=["operations"])  # public: no API key
keyed = APIRouter(tags=["operations"], route_class=AuthenticatedRoute)


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz", response_model=Readiness, summary="The database is reachable and migrated",
            responses=problem_responses(503))
def readyz(request: Request, services: ServicesDep) -> JSONResponse:
    try:
        revision = current_revision(services.db)
    except (SQLAlchemyError, OSError) as error:
        return problem_response(request, "not-ready", "Not ready", 503,
                                f"the database is unreachable ({error.__class__.__name__})")
    if revision != head_revision():
        return problem_response(request, "not-ready", "Not ready", 503,
                                f"the database is at migration {revision}, not {head_revision()}; "
                                "run 'dangol init'", {"revision": revision})
    return JSONResponse({"status": "ready", "database": services.db.dialect, "revision": revision})


@keyed.post("/v1/programs/{program_id}/expiry-runs", response_model=ExpiryReportOut,
             summary="Expire points as of now (or an earlier time)",
             description="Releases due pending points, releases timed-out holds and expires lots past "
                         "their expiry. Running it again changes nothing; a replay with the same "
                         "Idempotency-Key returns the first run's report.",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422))
async def run_expiry(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                     idempotency_key: IdempotencyKey, body: ExpiryRunIn | None = None) -> JSONResponse:
    return JSONResponse(await lane.run(_expiry_report, services, program_id, body.as_of if body else None,
                                       idempotency_key))


def _expiry_report(services: Services, program_id: str, as_of: datetime | None, idempotency_key: str) -> Any:
    # The program's own scope: ledger commands fingerprint differently, so a key reused
    # across the two is a conflict, never a wrong replay.
    return StoredResponses(services, program_id).once(
        idempotency_key, {"expiry_run": {"as_of": as_of}}, lambda: services.expiry.run(program_id, as_of).as_json())
