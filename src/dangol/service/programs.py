"""Programs and the API keys that act on them."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ..domain import Program, ProgramPolicy
from ..domain.clock import Clock, SystemClock
from ..domain.errors import Conflict, IdempotencyConflict, InvalidRequest
from ..storage import tables as t
from ..storage.database import Database
from ..storage.ledger_repository import LedgerRepository
from . import receipts
from .fingerprint import fingerprint

ADMIN_SCOPE = "_admin"  # idempotency scope of calls that belong to no program (no program id starts with "_")


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    program_id: str | None  # None: an admin key, good for every program
    scopes: frozenset[Scope]
    name: str

    def allows(self, scope: Scope, program_id: str | None) -> bool:
        if Scope.ADMIN in self.scopes:
            return True
        if program_id is None or program_id != self.program_id:
            return False
        return scope in self.scopes or (scope is Scope.READ and Scope.WRITE in self.scopes)


def _hash(secret: str) -> str:
    # Keys are 256-bit random secrets, so a plain SHA-256 is enough (no salt or
    # stretching is needed for values nobody can guess), as API-token stores do.
    return hashlib.sha256(secret.encode()).hexdigest()


class ProgramService:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def create_program(self, program_id: str, name: str, currency: str, policy: ProgramPolicy | None = None,
                       idempotency_key: str | None = None) -> dict[str, Any]:
        program = Program(program_id, name, currency, policy or ProgramPolicy(), created_at=self.clock.now())
        if not name or len(name) > 200 or not name.isprintable():
            raise InvalidRequest("a program name is 1 to 200 printable characters")
        request_print = fingerprint({"program": program_id, "name": name, "currency": currency,
                                     "policy": program.policy})
        with self.db.write() as conn:
            repo = LedgerRepository(conn)
            if idempotency_key:
                stored = repo.idempotent_responses(ADMIN_SCOPE, [idempotency_key]).get(idempotency_key)
                if stored:
                    if stored[0] != request_print:
                        raise IdempotencyConflict(f"idempotency key {idempotency_key!r} was used for a different request")
                    return stored[1]
            if repo.find_program(program_id) is not None:
                raise Conflict(f"program {program_id!r} already exists")
            repo.add_program(program)
            receipt = receipts.program_json(program)
            if idempotency_key:
                repo.remember_responses(ADMIN_SCOPE, [(idempotency_key, request_print, receipt)], self.clock.now())
            return receipt

    def get_program(self, program_id: str) -> Program:
        with self.db.read() as conn:
            return LedgerRepository(conn).get_program(program_id)

    def list_programs(self) -> list[Program]:
        with self.db.read() as conn:
            return LedgerRepository(conn).list_programs()

    # ------------------------------------------------------------ API keys

    def create_api_key(self, program_id: str | None, scopes: set[Scope], name: str) -> tuple[ApiKey, str]:
        """Returns the key and its secret token, which is shown once and stored only hashed."""
        if program_id is None and scopes != {Scope.ADMIN}:
            raise InvalidRequest("a key without a program must be an admin key")
        if program_id is not None and Scope.ADMIN in scopes:
            raise InvalidRequest("program keys have read or write scopes")
        if not scopes:
            raise InvalidRequest("a key needs at least one scope")
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        token = f"dgl_{key_id}_{secret}"
        with self.db.write() as conn:
            if program_id is not None:
                LedgerRepository(conn).get_program(program_id)
            try:
                conn.execute(insert(t.api_keys).values(
                    id=key_id, program_id=program_id, scopes=",".join(sorted(s.value for s in scopes)),
                    secret_hash=_hash(secret), name=name, created_at=self.clock.now()))
            except IntegrityError as error:  # pragma: no cover - 64 random bits colliding
                raise Conflict("key id collision, try again") from error
        return ApiKey(key_id, program_id, frozenset(scopes), name), token

    def authenticate(self, token: str) -> ApiKey | None:
        parts = token.split("_", 2) if token.startswith("dgl_") else []
        if len(parts) != 3 or len(token) > 200:
            return None
        _, key_id, secret = parts
        with self.db.read() as conn:
            row = conn.execute(select(t.api_keys).where(t.api_keys.c.id == key_id)).mappings().first()
        if row is None or row["revoked_at"] is not None:
            return None
        if not hmac.compare_digest(row["secret_hash"], _hash(secret)):
            return None
        return ApiKey(row["id"], row["program_id"], frozenset(Scope(s) for s in row["scopes"].split(",")), row["name"])

    def revoke_api_key(self, key_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(update(t.api_keys).where(t.api_keys.c.id == key_id).values(revoked_at=self.clock.now()))
