"""Member portal sign-in without passwords: the brand's backend asks for a short-lived,
single-use link for one of its members; opening it starts a session in that browser.

Secrets are random (`secrets.token_urlsafe`, 256 bits) and only their SHA-256 hashes are
stored. Opening a link marks it used and creates the session in one transaction, so two
racing opens of the same link give one session and one refusal."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from ..domain.clock import Clock, SystemClock
from ..domain.portal import LINK_LIFETIME, SESSION_LIFETIME, LinkRefusal, PortalSession
from ..storage.database import Database
from ..storage.portal_repository import PortalRepository
from .reads import LedgerReader


@dataclass(frozen=True, slots=True)
class IssuedLink:
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OpenedSession:
    token: str
    member_id: str
    expires_at: datetime


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class PortalAccess:
    def __init__(self, db: Database, reader: LedgerReader, clock: Clock | None = None) -> None:
        self.db = db
        self.reader = reader
        self.clock = clock or SystemClock()

    def issue_link(self, program_id: str, member_id: str) -> IssuedLink:
        """A new link for the member (an unknown member or program is refused as the reads refuse it)."""
        self.reader.member(program_id, member_id)
        token = secrets.token_urlsafe(32)
        at = self.clock.now()
        expires_at = at + LINK_LIFETIME
        with self.db.write() as conn:
            PortalRepository(conn).add_link(secret_hash(token), program_id, member_id, at, expires_at)
        return IssuedLink(token, expires_at)

    def open_link(self, program_id: str, token: str) -> OpenedSession | LinkRefusal:
        at = self.clock.now()
        digest = secret_hash(token)
        session_token = secrets.token_urlsafe(32)
        with self.db.write() as conn:
            repo = PortalRepository(conn)
            link = repo.link(digest, lock=True)
            refusal = LinkRefusal.UNKNOWN if link is None else link.refusal(program_id, at)
            if link is None or refusal is not None:
                return refusal or LinkRefusal.UNKNOWN
            if not repo.use_link(digest, at):
                return LinkRefusal.USED
            expires_at = at + SESSION_LIFETIME
            repo.add_session(secret_hash(session_token), program_id, link.member_id, at, expires_at)
        return OpenedSession(session_token, link.member_id, expires_at)

    def session(self, program_id: str, token: str) -> PortalSession | None:
        """The session this cookie value opens in this program now, None if none."""
        with self.db.read() as conn:
            found = PortalRepository(conn).session(secret_hash(token))
        return found if found is not None and found.valid(program_id, self.clock.now()) else None

    def sign_out(self, token: str) -> None:
        with self.db.write() as conn:
            PortalRepository(conn).end_session(secret_hash(token))
