"""API keys made and revoked from the console (a program's read, write or personal keys),
through the same service as `dangol keys` and the admin API, with the audit entry in the
same transaction."""

from __future__ import annotations

from sqlalchemy import Connection

from ...domain.errors import InvalidRequest
from ..programs import ApiKey, IssuedKey, ProgramService, Scope
from . import audit
from .audit import Actor, Change

API_KEY_CREATE = "api_key.create"
API_KEY_REVOKE = "api_key.revoke"
PROGRAM_SCOPES = ("read", "write", "personal")


class StaffApiKeys:
    def __init__(self, programs: ProgramService) -> None:
        self.programs = programs

    def create(self, program_id: str, name: str, scopes: list[str], actor: Actor) -> tuple[ApiKey, str]:
        """The key and its token (shown once)."""
        if not name.strip():
            raise InvalidRequest("give the key a name (who or what uses it)")
        if not scopes or any(s not in PROGRAM_SCOPES for s in scopes):
            raise InvalidRequest("choose at least one scope: read, write or personal")

        def audited(conn: Connection, key: ApiKey) -> None:
            audit.record(conn, actor, Change(API_KEY_CREATE, program_id, after={
                "id": key.id, "name": key.name, "scopes": sorted(s.value for s in key.scopes)}),
                self.programs.clock.now())

        return self.programs.create_api_key(program_id, {Scope(s) for s in scopes}, name.strip()[:100], also=audited)

    def revoke(self, program_id: str, key_id: str, actor: Actor) -> IssuedKey:
        def audited(conn: Connection, key: IssuedKey) -> None:
            audit.record(conn, actor, Change(API_KEY_REVOKE, program_id, before={"id": key.id, "revoked": False},
                                             after={"id": key.id, "revoked": True}), self.programs.clock.now())

        return self.programs.revoke_api_key(key_id, program_id, also=audited)
