"""CSRF protection for every form: a token bound to the session, sent back with each POST.

The token is an HMAC of the session's own secret (the cookie's value, which only the
browser and the server know; the server keeps just its hash): a forged form from another
site cannot read the cookie, so it cannot compute the token, and nothing more needs to be
stored. Chosen over a double-submit cookie library because dangol's sessions already live on
the server: binding the token to them also refuses a token taken from another session.
Forms carry it in a hidden `csrf_token` field; htmx requests in the `X-CSRF-Token` header
(base.html sets it on the body)."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

FIELD = "csrf_token"
HEADER = "x-csrf-token"
_PURPOSE = b"dangol csrf v1"


def csrf_token(session_secret: str) -> str:
    return hmac.new(session_secret.encode(), _PURPOSE, hashlib.sha256).hexdigest()


def csrf_ok(session_secret: str, request: Request, form_value: object) -> bool:
    """Whether the POST carries the session's token (form field, else header)."""
    sent = form_value if isinstance(form_value, str) and form_value else request.headers.get(HEADER, "")
    return hmac.compare_digest(csrf_token(session_secret), sent)
