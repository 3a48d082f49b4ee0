"""The console's rules editor: `/console/programs/{program}/rules`. Edit the ruleset's YAML;
"Check" shows every mistake at its line, or the changes against the ruleset in force and a
line diff; "Simulate" adds what the draft would have awarded over the last 90 days; "Publish"
publishes it with the notice the program's policy requires (urgent, with a reason, for
owners). The form keeps what was typed, whatever the answer."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...domain.errors import DomainError, NoticeRequired
from ...service.staff.audit import Actor
from ...service.staff.rules_editing import Checked, RulesEditing
from ...staff.roles import Permission, Role
from ..csrf import FIELD
from .common import N_, as_staff, render, services_of, translate
from .session import PATH, StaffVisit, address_of

router = APIRouter(prefix=PATH, include_in_schema=False)
MAX_DOCUMENT = 200_000


def _editing(request: Request) -> RulesEditing:
    return RulesEditing(services_of(request))


async def _form(request: Request) -> dict[str, str]:
    return {k: str(v)[:MAX_DOCUMENT] for k, v in (await request.form()).items() if k != FIELD}


def _page(request: Request, visit: StaffVisit, program_id: str, text: str, *, checked: Checked | None = None,
          simulation: dict[str, Any] | None = None, error: str | None = None, form: dict[str, str] | None = None,
          published: str | None = None, status_code: int = 200) -> Response:
    return render(request, visit, "console/rules.html", {
        "program_id": program_id, "text": text, "lines": text.splitlines(), "checked": checked,
        "simulation": simulation, "error": error, "form": form or {}, "published": published,
        "publish_key": (form or {}).get("key") or secrets.token_urlsafe(16),
        "may_urgent": visit.account.role is Role.OWNER}, status_code=status_code)


@router.get("/programs/{program_id}/rules", response_class=HTMLResponse)
async def rules_page(request: Request, program_id: str, published: str | None = None) -> Response:
    async def show(request: Request, visit: StaffVisit) -> Response:
        try:
            await run_in_threadpool(services_of(request).programs.get_program, program_id)
        except DomainError:
            return render(request, visit, "console/forbidden.html", {"not_found": True}, status_code=404)
        text = await run_in_threadpool(_editing(request).source_in_force, program_id)
        return _page(request, visit, program_id, text, published=published)
    return await as_staff(request, Permission.VIEW, show)


@router.post("/programs/{program_id}/rules/check")
async def check(request: Request, program_id: str) -> Response:
    async def act(request: Request, visit: StaffVisit) -> Response:
        form = await _form(request)
        text, editing = form.get("document", ""), _editing(request)
        checked = await run_in_threadpool(editing.check, program_id, text)
        simulation, error = None, None
        if checked.valid and form.get("simulate"):
            try:
                simulation = await run_in_threadpool(editing.simulate, program_id, text,
                                                     services_of(request).clocks.now())
            except DomainError as refused:
                error = refused.detail
        return _page(request, visit, program_id, text, checked=checked, simulation=simulation, error=error,
                     form=form, status_code=200 if checked.valid and error is None else 400)
    return await as_staff(request, Permission.EDIT_RULES, act, form=True)


@router.post("/programs/{program_id}/rules/publish")
async def publish(request: Request, program_id: str) -> Response:
    async def act(request: Request, visit: StaffVisit) -> Response:
        form = await _form(request)
        text, editing = form.get("document", ""), _editing(request)
        urgent = bool(form.get("urgent"))
        if urgent and visit.account.role is not Role.OWNER:
            return _page(request, visit, program_id, text, form=form, status_code=403,
                         error=translate(request, N_("Only an owner may publish an urgent change.")))
        effective_from = None
        if form.get("effective_from"):
            try:
                effective_from = datetime.fromisoformat(form["effective_from"]).replace(tzinfo=timezone.utc)
            except ValueError:
                return _page(request, visit, program_id, text, form=form, status_code=400,
                             error=translate(request, N_("Give the date and time it takes effect (UTC).")))
        checked = await run_in_threadpool(editing.check, program_id, text)
        if not checked.valid:
            return _page(request, visit, program_id, text, checked=checked, form=form, status_code=400)
        try:
            published = await run_in_threadpool(lambda: editing.publish(
                program_id, text, Actor(visit.account.actor, address_of(request)), form.get("key") or
                secrets.token_urlsafe(16), effective_from=effective_from, urgent=urgent,
                reason=form.get("reason") or None))
        except NoticeRequired as refused:
            message = translate(request, N_("This change makes earning worse for members: it needs notice. "
                                            "It can take effect from %(earliest)s (UTC) at the earliest; or, "
                                            "for an owner, publish it as urgent with a reason members will see."))
            return _page(request, visit, program_id, text, checked=checked, form=form, status_code=409,
                         error=message % {"earliest": refused.context.get("earliest_effective_from")})
        except DomainError as refused:
            return _page(request, visit, program_id, text, checked=checked, form=form, status_code=400,
                         error=refused.detail)
        return RedirectResponse(f"{PATH}/programs/{program_id}/rules?published={published['number']}",
                                status_code=303)
    return await as_staff(request, Permission.PUBLISH_RULES, act, form=True)
