"""What every route needs: the services, and validated path parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from ..domain.program import PROGRAM_ID
from ..service.container import Services
from ..service.ledger import MEMBER_ID

MAX_HOLD_ID = 2**62


async def get_services(request: Request) -> Services:  # async: no worker thread for an attribute
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
ProgramIdPath = Annotated[str, Path(pattern=PROGRAM_ID.pattern, description="Program id", examples=["market"])]
MemberIdPath = Annotated[str, Path(pattern=MEMBER_ID.pattern, description="Member id")]
HoldIdPath = Annotated[int, Path(ge=1, le=MAX_HOLD_ID, description="Hold id")]
ApiKeyIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,32}$", description="API key id (not its token)",
                                   examples=["804673c4913d819a"])]
