"""The console's API keys (`manage_api_keys`: create, the token shown once, revoke) and
transparency log (`view`: size, latest checkpoints, witnesses' cosignatures) pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...domain.errors import DomainError
from ...service.staff.api_keys import PROGRAM_SCOPES
from ...service.staff.audit import Actor
from ...staff.roles import Permission
from .common import MAX_FIELD, as_staff, render, services_of
from .session import PATH, StaffVisit, address_of

router = APIRouter(prefix=PATH, include_in_schema=False)


async def _keys_page(request: Request, visit: StaffVisit, program_id: str, *, token: str | None = None,
                     error: str | None = None, form: dict[str, object] | None = None,
                     status_code: int = 200) -> Response:
    services = services_of(request)
    try:
        keys = await run_in_threadpool(services.programs.api_keys, program_id)
    except DomainError:
        return render(request, visit, "console/forbidden.html", {"not_found": True}, status_code=404)
    return render(request, visit, "console/api_keys.html", {
        "program_id": program_id, "keys": keys, "token": token, "error": error, "form": form or {},
        "scopes": PROGRAM_SCOPES}, status_code=status_code)


@router.get("/programs/{program_id}/api-keys", response_class=HTMLResponse)
async def api_keys(request: Request, program_id: str) -> Response:
    async def show(request: Request, visit: StaffVisit) -> Response:
        return await _keys_page(request, visit, program_id)
    return await as_staff(request, Permission.MANAGE_API_KEYS, show)


@router.post("/programs/{program_id}/api-keys")
async def create_key(request: Request, program_id: str) -> Response:
    async def act(request: Request, visit: StaffVisit) -> Response:
        sent = await request.form()
        name, scopes = str(sent.get("name") or "")[:MAX_FIELD], [str(s) for s in sent.getlist("scope")]
        try:
            _, token = await run_in_threadpool(services_of(request).staff_api_keys.create, program_id, name, scopes,
                                               Actor(visit.account.actor, address_of(request)))
        except DomainError as refused:
            return await _keys_page(request, visit, program_id, error=refused.detail,
                                    form={"name": name, "scopes": scopes}, status_code=400)
        # Shown on this answer only (never stored: the database keeps its hash), not redirected.
        return await _keys_page(request, visit, program_id, token=token)
    return await as_staff(request, Permission.MANAGE_API_KEYS, act, form=True)


@router.post("/programs/{program_id}/api-keys/{key_id}/revoke")
async def revoke_key(request: Request, program_id: str, key_id: str) -> Response:
    async def act(request: Request, visit: StaffVisit) -> Response:
        try:
            await run_in_threadpool(services_of(request).staff_api_keys.revoke, program_id, key_id[:MAX_FIELD],
                                    Actor(visit.account.actor, address_of(request)))
        except DomainError as refused:
            return await _keys_page(request, visit, program_id, error=refused.detail, status_code=404)
        return RedirectResponse(f"{PATH}/programs/{program_id}/api-keys", status_code=303)
    return await as_staff(request, Permission.MANAGE_API_KEYS, act, form=True)


@router.get("/log", response_class=HTMLResponse)
async def transparency_log(request: Request) -> Response:
    async def show(request: Request, visit: StaffVisit) -> Response:
        log = services_of(request).log
        status, recent = await run_in_threadpool(lambda: (log.status(), log.recent()))
        return render(request, visit, "console/log.html", {"status": status, **recent})
    return await as_staff(request, Permission.VIEW, show)


