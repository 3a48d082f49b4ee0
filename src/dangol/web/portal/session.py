"""Who is looking at a portal page: the session its cookie opens, or none.

The cookie is scoped to the program's portal path, HTTP-only (no script reads it), SameSite
Lax (another site's form posts go without it) and Secure (only sent over HTTPS, and to
http://127.0.0.1 or localhost, which browsers treat as secure for development). The member a
page shows is always the session's: no URL of the portal names a member."""

from __future__ import annotations

from dataclasses import dataclass
from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from ...service.container import Services
from ..csrf import csrf_token

COOKIE = "dangol_portal"


@dataclass(frozen=True, slots=True)
class Visit:
    """A signed-in member's request."""

    program_id: str
    member_id: str
    secret: str  # the cookie's value: the session's CSRF token is derived from it

    @property
    def csrf(self) -> str:
        return csrf_token(self.secret)


def portal_path(program_id: str, page: str = "") -> str:
    return f"/portal/{program_id}/{page}"


def current_visit(services: Services, request: Request, program_id: str) -> Visit | None:
    secret = request.cookies.get(COOKIE)
    if not secret or len(secret) > 100:
        return None
    session = services.portal.session(program_id, secret)
    return None if session is None else Visit(program_id, session.member_id, secret)


def to_sign_in(program_id: str, reason: str, *, end_session: bool = False) -> RedirectResponse:
    """Back to the sign-in page, saying why; `end_session` also drops the cookie (a refused
    link leaves a session the browser already has alone)."""
    response = RedirectResponse(f"{portal_path(program_id, 'sign-in')}?reason={reason}", status_code=303)
    if end_session:
        response.delete_cookie(COOKIE, path=portal_path(program_id), secure=True, httponly=True, samesite="lax")
    return response


def set_session_cookie(response: Response, program_id: str, secret: str) -> None:
    """A browser-session cookie: the server's session row decides when it ends (its clock,
    not the browser's), and closing the browser ends it sooner."""
    response.set_cookie(COOKIE, secret, path=portal_path(program_id), httponly=True, secure=True, samesite="lax")
