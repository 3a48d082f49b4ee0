"""One-click unsubscribe links (RFC 8058): a token naming the program, member and kind of
message, authenticated with the program's key, so the link alone unsubscribes (no login) and
cannot be forged for another member."""

from __future__ import annotations

import base64
import hashlib
import hmac

from ..domain.errors import InvalidRequest


class InvalidUnsubscribeToken(InvalidRequest):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token(key: str, program_id: str, member_id: str, kind: str) -> str:
    subject = f"{program_id}|{member_id}|{kind}".encode()
    mac = hmac.new(key.encode(), subject, hashlib.sha256).digest()[:18]
    return f"{_b64(subject)}.{_b64(mac)}"


def subject_of(text: str) -> tuple[str, str, str]:
    """(program, member, kind) the token claims; `verify` checks it with the program's key."""
    try:
        encoded, _ = text.split(".", 1)
        program_id, member_id, kind = _unb64(encoded).decode().split("|")
    except (ValueError, UnicodeDecodeError):
        raise InvalidUnsubscribeToken("not an unsubscribe link of this service") from None
    return program_id, member_id, kind


def verify(key: str, text: str) -> tuple[str, str, str]:
    program_id, member_id, kind = subject_of(text)
    if not hmac.compare_digest(token(key, program_id, member_id, kind), text):
        raise InvalidUnsubscribeToken("not an unsubscribe link of this service")
    return program_id, member_id, kind
