"""Server-side staff sessions. The cookie holds a random token; the database holds only its
SHA-256, so a copy of the database opens no session. A session ends after an idle time or
at an absolute limit, whichever comes first; every sign-in makes a new token (a token
planted before sign-in is never promoted)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    # A session's last use is written at most this often: a page view is not a write.
    touch_every: timedelta = timedelta(minutes=1)

    def expires(self, created_at: datetime, last_seen_at: datetime) -> datetime:
        return min(created_at + self.absolute, last_seen_at + self.idle)

    def needs_touch(self, last_seen_at: datetime, now: datetime) -> bool:
        return now - last_seen_at >= self.touch_every
