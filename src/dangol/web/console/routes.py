"""The operator console's pages: `/console/…`. Every page asks for a permission of the
staff role table (dangol.staff.roles): no session leads to sign-in, a role without the
permission gets 403 and nothing of the page. Every POST carries the session's CSRF token."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...domain.errors import DomainError
from ...service.container import Services
from ...service.staff.audit import Actor
from ...staff.roles import Permission
from ...staff.sign_in import Refused
from ..csrf import FIELD, csrf_ok, csrf_token
from ...domain.member import MemberStatus
from .views import member_view
from .common import MAX_FIELD, N_, REASONS, as_staff, pages_of, render, services_of, translate
from .session import (
    COOKIE, PATH, StaffVisit, address_of, current_staff, pre_sign_in_secret, set_pre_cookie, set_session_cookie,
    to_sign_in,
)

router = APIRouter(prefix=PATH, include_in_schema=False)


# ---------------------------------------------------------------- signing in and out

@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, reason: str | None = None) -> Response:
    message = REASONS.get(reason or "")
    return _sign_in_form(request, notice=translate(request, message) if message else None)


def _sign_in_form(request: Request, *, username: str = "", error: str | None = None, notice: str | None = None,
                  status_code: int = 200) -> Response:
    secret, new = pre_sign_in_secret(request)
    response = pages_of(request).render(request, "console/sign_in.html", {
        "username": username, "error": error, "notice": notice, "form_token": csrf_token(secret), "staff": None},
        status_code=status_code)
    if new:
        set_pre_cookie(response, secret)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    secret, _ = pre_sign_in_secret(request)
    if not csrf_ok(secret, request, form.get(FIELD)):
        return _sign_in_form(request, notice=translate(request, REASONS["forged"]), status_code=400)
    username, password, code = (str(form.get(name) or "")[:MAX_FIELD] for name in ("username", "password", "code"))
    result = await run_in_threadpool(services_of(request).staff_sign_in.sign_in, username, password, code,
                                     address_of(request), request.cookies.get(COOKIE))
    if isinstance(result, Refused):
        message = (N_("Too many failed sign-ins. Try again later.") if result.locked_until
                   else N_("Wrong username, password or code."))
        return _sign_in_form(request, username=username, error=translate(request, message), status_code=400)
    response = RedirectResponse(f"{PATH}/", status_code=303)
    set_session_cookie(response, result.token)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    visit = await run_in_threadpool(current_staff, services_of(request), request)
    if visit is None:
        return to_sign_in("session")
    if not csrf_ok(visit.secret, request, (await request.form()).get(FIELD)):
        return to_sign_in("forged")
    await run_in_threadpool(services_of(request).staff_sign_in.sign_out, visit.secret)
    return to_sign_in("signed-out")


# ---------------------------------------------------------------- pages

@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    async def show(request: Request, visit: StaffVisit) -> Response:
        programs = await run_in_threadpool(services_of(request).programs.list_programs)
        return render(request, visit, "console/home.html", {"programs": programs})
    return await as_staff(request, Permission.VIEW, show)


@router.get("/members", response_class=HTMLResponse)
async def find_member(request: Request, program: str = "", q: str = "") -> Response:
    async def show(request: Request, visit: StaffVisit) -> Response:
        services, wanted = services_of(request), q.strip()[:MAX_FIELD]
        if program and wanted:
            found = await run_in_threadpool(_lookup, services, program, wanted)
            if found is not None:
                return RedirectResponse(f"{PATH}/programs/{program}/members/{found}", status_code=303)
        programs = await run_in_threadpool(services.programs.list_programs)
        return render(request, visit, "console/members.html", {
            "programs": programs, "program": program, "q": wanted,
            "error": translate(request, N_("No member has that id or reference.")) if wanted else None},
            status_code=404 if wanted else 200)
    return await as_staff(request, Permission.VIEW, show)


def _lookup(services: Services, program_id: str, wanted: str) -> str | None:
    for find in (services.reader.member, services.reader.member_by_ref):
        try:
            return str(find(program_id, wanted)["id"])
        except DomainError:
            continue
    return None


@router.get("/programs/{program_id}/members/{member_id}", response_class=HTMLResponse)
async def member_page(request: Request, program_id: str, member_id: str) -> Response:
    async def show(request: Request, visit: StaffVisit) -> Response:
        return await _member(request, visit, program_id, member_id)
    return await as_staff(request, Permission.VIEW, show)


async def _member(request: Request, visit: StaffVisit, program_id: str, member_id: str, *,
                  error: str | None = None, form: dict[str, str] | None = None, status_code: int = 200) -> Response:
    services = services_of(request)
    try:
        view = await run_in_threadpool(member_view, services, program_id, member_id)
    except DomainError:
        return render(request, visit, "console/members.html", {
            "programs": [], "program": program_id, "q": member_id,
            "error": translate(request, N_("No member has that id or reference."))}, status_code=404)
    return render(request, visit, "console/member.html", {
        **view, "program_id": program_id, "error": error, "form": form or {},
        "adjust_key": secrets.token_urlsafe(16)}, status_code=status_code)


@router.post("/programs/{program_id}/members/{member_id}/adjust")
async def adjust(request: Request, program_id: str, member_id: str) -> Response:
    async def act(request: Request, visit: StaffVisit) -> Response:
        form = {k: str(v)[:MAX_FIELD] for k, v in (await request.form()).items() if k != FIELD}
        try:
            points = int(form.get("points", "").replace(",", ""))
        except ValueError:
            points = 0
        reason = form.get("reason", "").strip()
        if points == 0 or not reason:
            message = N_("Enter a whole number of points other than 0.") if points == 0 else N_("Give a reason.")
            return await _member(request, visit, program_id, member_id, error=translate(request, message), form=form,
                                 status_code=400)
        actor = Actor(visit.account.actor, address_of(request))
        try:
            await run_in_threadpool(services_of(request).staff_actions.adjust, program_id, member_id, points, reason,
                                    actor, form.get("key") or secrets.token_urlsafe(16))
        except DomainError as refused:
            return await _member(request, visit, program_id, member_id, error=refused.detail, form=form,
                                 status_code=400)
        return RedirectResponse(f"{PATH}/programs/{program_id}/members/{member_id}", status_code=303)
    return await as_staff(request, Permission.ADJUST_POINTS, act, form=True)


STATUS_OF_ACTION = {"suspend": MemberStatus.SUSPENDED, "reactivate": MemberStatus.ACTIVE,
                    "close": MemberStatus.CLOSED}


@router.post("/programs/{program_id}/members/{member_id}/{action}")
async def change_status(request: Request, program_id: str, member_id: str, action: str) -> Response:
    """Suspend, reactivate or close: the API's status change, audited."""
    status = STATUS_OF_ACTION.get(action)
    if status is None:
        return await as_staff(request, Permission.VIEW, _not_found)

    async def act(request: Request, visit: StaffVisit) -> Response:
        form = {k: str(v)[:MAX_FIELD] for k, v in (await request.form()).items() if k != FIELD}
        actor = Actor(visit.account.actor, address_of(request))
        try:
            await run_in_threadpool(services_of(request).staff_actions.set_status, program_id, member_id, status,
                                    form.get("status_reason", "").strip() or None, actor,
                                    form.get("key") or secrets.token_urlsafe(16))
        except DomainError as refused:
            return await _member(request, visit, program_id, member_id, error=refused.detail, form=form,
                                 status_code=400)
        return RedirectResponse(f"{PATH}/programs/{program_id}/members/{member_id}", status_code=303)
    return await as_staff(request, Permission.CHANGE_MEMBER_STATUS, act, form=True)


async def _not_found(request: Request, visit: StaffVisit) -> Response:
    return render(request, visit, "console/forbidden.html", {"not_found": True}, status_code=404)


@router.get("/audit", response_class=HTMLResponse)
async def audit_log(request: Request, cursor: str | None = None) -> Response:
    async def show(request: Request, visit: StaffVisit) -> Response:
        try:
            page = await run_in_threadpool(lambda: services_of(request).staff_audit.entries(cursor=cursor, limit=100))
        except DomainError:
            page = await run_in_threadpool(lambda: services_of(request).staff_audit.entries(limit=100))
        return render(request, visit, "console/audit.html", {"entries": page.items, "next": page.next_cursor})
    return await as_staff(request, Permission.READ_AUDIT_LOG, show)
