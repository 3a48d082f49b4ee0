"""The member portal's pages: `/portal/{program}/…`, for the member of the session only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...domain.errors import DomainError
from ...domain.portal import LinkRefusal
from ...domain.program import PROGRAM_ID
from ...service.container import Services
from ..rendering import Pages
from .session import COOKIE, Visit, current_visit, portal_path, set_session_cookie, to_sign_in
from .views import N_, home_view, program_time_zone

router = APIRouter(prefix="/portal/{program_id}", include_in_schema=False)
ProgramId = Path(pattern=PROGRAM_ID.pattern)

# What the sign-in page says after a refused link or an ended session.
REASONS = {
    LinkRefusal.USED.value: N_("This sign-in link was already used. Ask for a new one where you got it."),
    LinkRefusal.EXPIRED.value: N_("This sign-in link has expired. Ask for a new one where you got it."),
    LinkRefusal.UNKNOWN.value: N_("This sign-in link is not valid. Ask for a new one where you got it."),
    "session": N_("Your session has ended. Sign in again with a new link."),
    "signed-out": N_("You are signed out."),
    "forged": N_("That form was stale or not sent by this page. Sign in again and retry."),
}


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


async def _visit(request: Request, program_id: str) -> Visit | None:
    return await run_in_threadpool(current_visit, _services(request), request, program_id)


async def _page(request: Request, program_id: str, template: str, build: Callable[[Services, Visit], dict[str, Any]],
                active: str) -> Response:
    visit = await _visit(request, program_id)
    if visit is None:
        return to_sign_in(program_id, "session")
    services = _services(request)
    try:
        context, time_zone = await run_in_threadpool(lambda: (build(services, visit),
                                                              program_time_zone(services, program_id)))
    except DomainError:
        return to_sign_in(program_id, "session")  # the member or program is gone: nothing to show
    return _pages(request).render(request, template, {
        **context, "program_id": program_id, "active": active, "csrf_token": visit.csrf,
        "portal": lambda page="": portal_path(program_id, page)}, time_zone=time_zone)


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, program_id: str = ProgramId, reason: str | None = None) -> Response:
    pages = _pages(request)
    message = REASONS.get(reason or "")
    notice = pages.gettext(pages.locale_of(request), message) if message else None
    return pages.render(request, "portal/sign_in.html", {"program_id": program_id, "notice": notice},
                        status_code=200)


@router.get("/link/{token}")
async def open_link(request: Request, token: str, program_id: str = ProgramId) -> Response:
    services = _services(request)
    if len(token) > 100:
        return to_sign_in(program_id, LinkRefusal.UNKNOWN.value)
    opened = await run_in_threadpool(services.portal.open_link, program_id, token)
    if isinstance(opened, LinkRefusal):
        return to_sign_in(program_id, opened.value)
    response = RedirectResponse(portal_path(program_id), status_code=303)
    set_session_cookie(response, program_id, opened.token)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, program_id: str = ProgramId) -> Response:
    secret = request.cookies.get(COOKIE)
    if secret:
        await run_in_threadpool(_services(request).portal.sign_out, secret)
    return to_sign_in(program_id, "signed-out")


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, program_id: str = ProgramId) -> Response:
    return await _page(request, program_id, "portal/home.html", home_view, "home")
