"""Idempotency for the writes of rules and profiles that are not ledger batches
(publishing a ruleset, a profile change): the key and the response are stored in the write's own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..domain.errors import IdempotencyConflict
from ..storage.ledger_repository import LedgerRepository
from .fingerprint import fingerprint


class Remembered:
    """`previous()` is the stored response of this key (None if new; 409 if it was another
    request's); `remember(response)` stores it."""

    def __init__(self, conn: Connection, scope: str, key: str | None, request: Any) -> None:
        self.repo = LedgerRepository(conn)
        self.scope = scope
        self.key = key
        self.print = fingerprint(request)

    def previous(self) -> Any | None:
        if not self.key:
            return None
        stored = self.repo.idempotent_responses(self.scope, [self.key]).get(self.key)
        if stored is None:
            return None
        if stored[0] != self.print:
            raise IdempotencyConflict(f"idempotency key {self.key!r} was used for a different request")
        return stored[1]

    def remember(self, response: Any, at: datetime) -> Any:
        if self.key:
            self.repo.remember_responses(self.scope, [(self.key, self.print, response)], at)
        return response
