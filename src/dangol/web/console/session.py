"""Who is looking at a console page: the staff session its cookie opens, or none.

The cookie is scoped to `/console`, HTTP-only, Secure and SameSite Strict (no other site's
link or form ever carries it). Before sign-in, a separate short-lived cookie holds a random
secret that the sign-in form's CSRF token is derived from (no form is accepted without its
token, not even sign-in's)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from ...service.container import Services
from ...staff.accounts import StaffAccount
from ...staff.roles import Permission, may
from ..csrf import csrf_token

COOKIE = "dangol_console"
PRE_COOKIE = "dangol_console_pre"
PATH = "/console"


@dataclass(frozen=True, slots=True)
class StaffVisit:
    account: StaffAccount
    secret: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.secret)

    def may(self, permission: Permission) -> bool:
        return may(self.account.role, permission)


def current_staff(services: Services, request: Request) -> StaffVisit | None:
    secret = request.cookies.get(COOKIE)
    if not secret or len(secret) > 100:
        return None
    session = services.staff_sign_in.session(secret)
    return None if session is None else StaffVisit(session.account, secret)


def address_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def to_sign_in(reason: str) -> RedirectResponse:
    response = RedirectResponse(f"{PATH}/sign-in?reason={reason}", status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response


def set_session_cookie(response: Response, secret: str) -> None:
    response.set_cookie(COOKIE, secret, path=PATH, httponly=True, secure=True, samesite="strict")
    response.delete_cookie(PRE_COOKIE, path=PATH)


def pre_sign_in_secret(request: Request) -> tuple[str, bool]:
    """The pre-sign-in secret, and whether it is new (to be set as a cookie)."""
    existing = request.cookies.get(PRE_COOKIE)
    if existing and len(existing) <= 100:
        return existing, False
    return secrets.token_urlsafe(32), True


def set_pre_cookie(response: Response, secret: str) -> None:
    response.set_cookie(PRE_COOKIE, secret, path=PATH, max_age=3600, httponly=True, secure=True, samesite="strict")
