"""Rows of the member portal's sign-in links and sessions (hashes of their secrets only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from ..domain.portal import PortalLink, PortalSession
from . import tables as t


class PortalRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_link(self, token_hash: str, program_id: str, member_id: str, at: datetime, expires_at: datetime) -> None:
        self.conn.execute(insert(t.portal_links).values(
            token_hash=token_hash, program_id=program_id, member_id=member_id, created_at=at, expires_at=expires_at))

    def link(self, token_hash: str, *, lock: bool = False) -> PortalLink | None:
        query = select(t.portal_links).where(t.portal_links.c.token_hash == token_hash)
        if lock and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        if row is None:
            return None
        return PortalLink(row["program_id"], row["member_id"], row["expires_at"], row["used_at"])

    def use_link(self, token_hash: str, at: datetime) -> bool:
        """Marks the link used; False if another request used it first."""
        result = self.conn.execute(update(t.portal_links).where(
            t.portal_links.c.token_hash == token_hash, t.portal_links.c.used_at.is_(None)).values(used_at=at))
        return result.rowcount == 1

    def add_session(self, token_hash: str, program_id: str, member_id: str, at: datetime,
                    expires_at: datetime) -> None:
        self.conn.execute(insert(t.portal_sessions).values(
            token_hash=token_hash, program_id=program_id, member_id=member_id, created_at=at, expires_at=expires_at))

    def session(self, token_hash: str) -> PortalSession | None:
        row = self.conn.execute(select(t.portal_sessions).where(
            t.portal_sessions.c.token_hash == token_hash)).mappings().first()
        return None if row is None else PortalSession(row["program_id"], row["member_id"], row["expires_at"])

    def end_session(self, token_hash: str) -> None:
        self.conn.execute(delete(t.portal_sessions).where(t.portal_sessions.c.token_hash == token_hash))
