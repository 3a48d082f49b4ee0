"""What every console page shares: the services, rendering in the visitor's language, and
`as_staff`, which runs a page for a signed-in staff member whose role has the permission
(no session: to sign-in; a forged form: to sign-in, nothing written; no permission: 403)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ...service.container import Services
from ...staff.roles import Permission
from ..csrf import FIELD, csrf_ok
from ..rendering import Pages
from .session import StaffVisit, current_staff, to_sign_in


def N_(message: str) -> str:
    """Marks a message for the catalog; translated where it is shown."""
    return message


REASONS = {
    "session": N_("Your session has ended. Sign in again."),
    "signed-out": N_("You are signed out."),
    "forged": N_("That form was stale or not sent by this page. Sign in again and retry."),
}
MAX_FIELD = 1000


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def pages_of(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def translate(request: Request, message: str) -> str:
    pages = pages_of(request)
    return pages.gettext(pages.locale_of(request), message)


Handler = Callable[[Request, StaffVisit], Awaitable[Response]]


async def as_staff(request: Request, permission: Permission, handler: Handler, *, form: bool = False) -> Response:
    """Runs `handler` for a signed-in staff member whose role has `permission`."""
    visit = await run_in_threadpool(current_staff, services_of(request), request)
    if visit is None:
        return to_sign_in("session")
    if form:
        sent = (await request.form()).get(FIELD)
        if not csrf_ok(visit.secret, request, sent):
            return to_sign_in("forged")
    if not visit.may(permission):
        return render(request, visit, "console/forbidden.html", {}, status_code=403)
    return await handler(request, visit)


def render(request: Request, visit: StaffVisit | None, template: str, context: dict[str, Any], *,
            status_code: int = 200) -> Response:
    return pages_of(request).render(request, template, {
        **context, "staff": None if visit is None else visit.account, "csrf_token": None if visit is None else visit.csrf,
        "may": (lambda p: visit is not None and visit.may(Permission(p)))}, status_code=status_code)
