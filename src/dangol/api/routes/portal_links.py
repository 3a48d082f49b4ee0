"""Member portal links: the brand's backend asks for one and sends its member there."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from ...service.container import Services
from ..auth import AuthenticatedRoute, WriteKey
from ..deps import MemberIdPath, ProgramIdPath, ServicesDep
from ..idempotency import IdempotencyKey, StoredResponses
from ..lanes import WriteLaneDep
from ..problems import problem_responses
from ..responses import JSONResponse

router = APIRouter(prefix="/v1/programs/{program_id}/members/{member_id}", tags=["member portal"],
                   route_class=AuthenticatedRoute)


class PortalLinkOut(BaseModel):
    member_id: str = Field(description="The member the link signs in")
    path: str = Field(description="The link's path on this server", examples=["/portal/market/link/…"])
    url: str = Field(description="The link, absolute as this request reached the server")
    expires_at: str = Field(description="When the link stops working if unused (RFC 3339, UTC)")


@router.post("/portal-links", status_code=201, response_model=PortalLinkOut,
             summary="A single-use sign-in link to the member portal",
             description="The link signs the member in to `/portal/{program_id}` once, within 10 minutes; "
                         "send the member there at once (e.g. redirect). A replay with the same "
                         "Idempotency-Key returns the same link.",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422))
async def create_portal_link(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, request: Request,
                             program_id: ProgramIdPath, member_id: MemberIdPath,
                             idempotency_key: IdempotencyKey) -> JSONResponse:
    link = await lane.run(_issue, services, program_id, member_id, idempotency_key)
    base = str(request.base_url).rstrip("/")
    return JSONResponse({**link, "url": base + link["path"]}, status_code=201)


def _issue(services: Services, program_id: str, member_id: str, idempotency_key: str) -> Any:
    def issue() -> dict[str, Any]:
        link = services.portal.issue_link(program_id, member_id)
        return {"member_id": member_id, "path": f"/portal/{program_id}/link/{link.token}",
                "expires_at": link.expires_at.isoformat().replace("+00:00", "Z")}

    return StoredResponses(services, program_id).once(idempotency_key, {"portal_link": {"member_id": member_id}},
                                                       issue)
