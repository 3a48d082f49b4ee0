"""The `Idempotency-Key` header, and replayable responses for the two calls whose
service has no idempotency of its own (API key creation and expiry runs).

Ledger writes and program creation pass the key to the service, which stores it in the
same transaction as the write. Here the response is stored after the call instead; that
is safe because an expiry run repeated changes nothing, and an API key created by a
request whose response was lost is only an unused key. While such a call runs, another
request with its key waits for it (`alone`), and then finds its stored response."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Header

from ..domain.errors import IdempotencyConflict
from ..service.container import Services
from ..service.fingerprint import fingerprint
from ..storage.ledger_repository import LedgerRepository
from .problems import INTEGRITY_ERRORS

IdempotencyKey = Annotated[str, Header(
    alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x20-\x7e]+$",
    description="1 to 255 printable ASCII characters, unique per intended operation. Retrying with "
                "the same key and body returns the original response; another body gets a 409.")]


class StoredResponses:
    """Responses remembered under (scope, key), with the fingerprint of their request."""

    def __init__(self, services: Services, scope: str) -> None:
        self.services = services
        self.scope = scope

    def replay(self, key: str, request: Any) -> Any | None:
        """The stored response for this request, None if the key is new; a 409 if the key
        was used for another request."""
        with self.services.db.read() as conn:
            stored = LedgerRepository(conn).idempotent_responses(self.scope, [key]).get(key)
        return self._check(key, request, stored)

    def remember(self, key: str, request: Any, response: Any) -> Any | None:
        """Stores the response; if a concurrent request with the same key got there
        first, returns what it stored instead (or a 409 for another request)."""
        try:
            with self.services.db.write() as conn:
                repo = LedgerRepository(conn)
                stored = repo.idempotent_responses(self.scope, [key]).get(key)
                if stored is None:
                    repo.remember_responses(self.scope, [(key, fingerprint(request), response)],
                                            self.services.clock.now())
                    return None
        except INTEGRITY_ERRORS:
            return self.replay(key, request)
        return self._check(key, request, stored)

    @contextmanager
    def alone(self, key: str) -> Iterator[None]:
        """Another request with this key, in any server process, waits until the block is
        over: a retry sent while its original runs then replays the original's response
        rather than running too (PostgreSQL; on SQLite the writer thread runs them in turn)."""
        with self.services.db.held(f"idempotency/{self.scope}/{key}"):
            yield

    def once(self, key: str, request: Any, produce: Callable[[], Any]) -> Any:
        """The stored response for this request, or `produce()`'s, remembered: for jobs
        (expiry, tier recalculation, signing the log) that are idempotent by key rather than
        by command."""
        with self.alone(key):
            response = self.replay(key, request)
            if response is None:
                response = produce()
                response = self.remember(key, request, response) or response
        return response

    @staticmethod
    def _check(key: str, request: Any, stored: tuple[str, Any] | None) -> Any | None:
        if stored is None:
            return None
        if stored[0] != fingerprint(request):
            raise IdempotencyConflict(f"idempotency key {key!r} was used for a different request")
        return stored[1]
