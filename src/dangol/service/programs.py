"""Programs and the API keys that act on them."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..domain import Program, ProgramPolicy
from ..domain.clock import Clock, SystemClock
from ..domain.errors import Conflict, DomainError, IdempotencyConflict, InvalidRequest
from ..storage import tables as t
from ..storage.database import Database
from ..storage.ledger_repository import LedgerRepository
from . import receipts
from .fingerprint import fingerprint

ADMIN_SCOPE = "_admin"  # idempotency scope of calls that belong to no program (no program id starts with "_")
# How long a process trusts a key it has looked up. A key revoked through this process stops
# working at once; one revoked by another process (`dangol keys revoke` beside a server,
# another server, a direct database change), within this many seconds.
AUTH_CACHE_SECONDS = 2.0
AUTH_CACHE_SIZE = 4096


class UnknownApiKey(DomainError):
    code = "unknown-api-key"
    title = "Unknown API key"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    # Members' personal data (names, contacts, exports, erasure): a scope of its own, which
    # neither read nor write implies. Every use of it is in the audit log.
    PERSONAL = "personal"
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


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """What is on record of a key, for listing and revoking it: never its secret. (When a key
    was last used is not recorded: authenticating writes nothing.)"""

    id: str
    program_id: str | None  # None: an admin key
    scopes: tuple[str, ...]  # sorted
    name: str
    created_at: datetime
    revoked_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "program_id": self.program_id, "scopes": list(self.scopes), "name": self.name,
                "created_at": receipts.iso(self.created_at), "revoked_at": receipts.iso(self.revoked_at)}


@dataclass(frozen=True, slots=True)
class _Known:
    """A key found valid in the database, with the hash of its secret, until `until`."""

    key: ApiKey
    secret_hash: str
    until: float


def _parse(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed token `dgl_<id>_<secret>`."""
    parts = token.split("_", 2) if token.startswith("dgl_") else []
    if len(parts) != 3 or len(token) > 200:
        return None
    return parts[1], parts[2]


def _matching(known: _Known | None, secret: str) -> ApiKey | None:
    if known is None or not hmac.compare_digest(known.secret_hash, _hash(secret)):
        return None
    return known.key


def _hash(secret: str) -> str:
    # Keys are 256-bit random secrets, so a plain SHA-256 is enough (no salt or
    # stretching is needed for values nobody can guess), as API-token stores do.
    return hashlib.sha256(secret.encode()).hexdigest()


class ProgramService:
    def __init__(self, db: Database, clock: Clock | None = None, *, auth_cache_seconds: float = AUTH_CACHE_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.auth_cache_seconds = auth_cache_seconds
        self._monotonic = monotonic
        # Valid keys only, by key id: unknown tokens cannot grow it, and a key created
        # elsewhere works at once. Plain dict operations, atomic under the GIL.
        self._known: dict[str, _Known] = {}
        # A lookup that raced a revocation must not cache what it read: both sides count
        # revocations under this lock (reads of the cache need no lock).
        self._revocations = 0
        self._cache_lock = threading.Lock()

    def create_program(self, program_id: str, name: str, currency: str, policy: ProgramPolicy | None = None,
                       idempotency_key: str | None = None, test_mode: bool = False) -> dict[str, Any]:
        """`test_mode`: the program runs by its own test clock, from now on; it is never switched to live."""
        program = Program(program_id, name, currency, policy or ProgramPolicy(), created_at=self.clock.now(),
                          test_mode=test_mode)
        if not name or len(name) > 200 or not name.isprintable():
            raise InvalidRequest("a program name is 1 to 200 printable characters")
        request_print = fingerprint({"program": program_id, "name": name, "currency": currency,
                                     "policy": program.policy} | ({"mode": "test"} if test_mode else {}))
        # A concurrent creation of the same id that commits after we looked: run again, to
        # answer from its stored response (or with the conflict) rather than a database error.
        return self.db.retrying_races(lambda: self._create_program(program, request_print, idempotency_key))

    def _create_program(self, program: Program, request_print: str, idempotency_key: str | None) -> dict[str, Any]:
        with self.db.write() as conn:
            repo = LedgerRepository(conn)
            # The program first, then the key: a retry whose original committed in between sees
            # the original's key with its program, and gets its answer, not "already exists".
            exists = repo.find_program(program.id) is not None
            if idempotency_key:
                stored = repo.idempotent_responses(ADMIN_SCOPE, [idempotency_key]).get(idempotency_key)
                if stored:
                    if stored[0] != request_print:
                        raise IdempotencyConflict(f"idempotency key {idempotency_key!r} was used for a different request")
                    response: dict[str, Any] = stored[1]  # the program receipt stored below
                    return response
            if exists:
                raise Conflict(f"program {program.id!r} already exists")
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

    def create_api_key(self, program_id: str | None, scopes: set[Scope], name: str,
                       also: Callable[[Connection, ApiKey], None] | None = None) -> tuple[ApiKey, str]:
        """Returns the key and its secret token, which is shown once and stored only hashed.
        `also` writes the caller's rows (the console's audit entry) in the same transaction."""
        if program_id is None and scopes != {Scope.ADMIN}:
            raise InvalidRequest("a key without a program must be an admin key")
        if program_id is not None and Scope.ADMIN in scopes:
            raise InvalidRequest("program keys have read, write or personal scopes")
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
            key = ApiKey(key_id, program_id, frozenset(scopes), name)
            if also is not None:
                also(conn, key)
        return key, token

    def authenticate(self, token: str) -> ApiKey | None:
        """The key `token` stands for; None if it is unknown, revoked or wrong."""
        parsed = _parse(token)
        if parsed is None:
            return None
        key_id, secret = parsed
        return _matching(self._fresh(key_id) or self._look_up(key_id), secret)

    def cached_key(self, token: str) -> ApiKey | None:
        """`authenticate` from memory only, cheap enough for an event loop: None also when
        the key has not been looked up in the last `auth_cache_seconds`."""
        parsed = _parse(token)
        return None if parsed is None else _matching(self._fresh(parsed[0]), parsed[1])

    def _fresh(self, key_id: str) -> _Known | None:
        known = self._known.get(key_id)
        return known if known is not None and known.until > self._monotonic() else None

    def _look_up(self, key_id: str) -> _Known | None:
        revocations = self._revocations
        with self.db.read() as conn:
            row = conn.execute(select(t.api_keys).where(t.api_keys.c.id == key_id)).mappings().first()
        if row is None or row["revoked_at"] is not None:
            self._known.pop(key_id, None)
            return None
        key = ApiKey(row["id"], row["program_id"], frozenset(Scope(s) for s in row["scopes"].split(",")), row["name"])
        known = _Known(key, row["secret_hash"], self._monotonic() + self.auth_cache_seconds)
        with self._cache_lock:
            if revocations == self._revocations:
                if len(self._known) >= AUTH_CACHE_SIZE:
                    self._known.clear()  # more live keys than that in one process is unusual: start over
                self._known[key_id] = known
        return known

    def api_keys(self, program_id: str | None = None) -> list[IssuedKey]:
        """The keys of `program_id` (every key, admin keys too, when None), revoked ones
        included, oldest first."""
        query = select(t.api_keys).order_by(t.api_keys.c.created_at, t.api_keys.c.id)
        with self.db.read() as conn:
            if program_id is not None:
                LedgerRepository(conn).get_program(program_id)
                query = query.where(t.api_keys.c.program_id == program_id)
            return [_issued(row) for row in conn.execute(query).mappings()]

    def revoke_api_key(self, key_id: str, program_id: str | None = None,
                       also: Callable[[Connection, IssuedKey], None] | None = None) -> IssuedKey:
        """Revokes the key (one of `program_id`'s when given) and answers what is on record.
        A key revoked already stays revoked since its first revocation: the same answer.
        This process forgets the key at once; others within `auth_cache_seconds`."""
        keys = t.api_keys
        with self.db.write() as conn:
            # Locked (PostgreSQL): a revocation racing this one waits, then sees its time.
            row = conn.execute(select(keys).where(keys.c.id == key_id).with_for_update()).mappings().first()
            if row is None or (program_id is not None and row["program_id"] != program_id):
                raise UnknownApiKey(f"no API key {key_id!r}" + (f" in program {program_id}" if program_id else ""))
            issued = _issued(row)
            if issued.revoked_at is None:
                issued = replace(issued, revoked_at=self.clock.now())
                conn.execute(update(keys).where(keys.c.id == key_id).values(revoked_at=issued.revoked_at))
                if also is not None:  # only a new revocation is the caller's to record
                    also(conn, issued)
        with self._cache_lock:
            self._revocations += 1
            self._known.pop(key_id, None)
        return issued


def _issued(row: Any) -> IssuedKey:
    return IssuedKey(row["id"], row["program_id"], tuple(sorted(row["scopes"].split(","))), row["name"],
                     row["created_at"], row["revoked_at"])
