"""Where the routes run the service calls that write, which block.

Ledger operations and business events are committed in groups (`group_commit.py`):
concurrent requests share one transaction, each with its own answer.

On SQLite only one transaction writes at a time, whatever the number of threads. Giving
each request its own worker thread there only adds threads that wake, take the GIL, queue
for the write lock and hand it on, one context switch after another. So on SQLite every
write request runs on one writer thread, in arrival order (the groups' queue is the
writer's queue): under load it goes from one batch to the next without sleeping, and
requests waiting their turn wait on the event loop, where waiting is cheap. On
PostgreSQL, which writes concurrently, the groups are committed by a thread of their own
and other writes use the usual thread pool. Reads always do (FastAPI runs the sync `def`
routes there)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from ..domain.errors import DomainError
from ..service.container import Services
from ..service.events import EventInput
from ..service.ledger import Command, Operation
from .group_commit import GroupCommit, Outcome

P = ParamSpec("P")
T = TypeVar("T")


class WriteLane:
    """One per app. Never shut down: several test clients may share an app, each with its own
    lifespan; the idle writer thread ends when the lane is collected or the process exits."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @functools.cached_property
    def _writer(self) -> ThreadPoolExecutor | None:
        # Decided on first use: an app made only for its OpenAPI document has no database.
        return ThreadPoolExecutor(1, thread_name_prefix="dangol-writer") if self.services.db.is_sqlite else None

    @functools.cached_property
    def _groups(self) -> GroupCommit:
        return GroupCommit(self.services, self._writer or ThreadPoolExecutor(1, thread_name_prefix="dangol-commit"))

    def waiting(self) -> int:
        """Requests queued behind the batch (or write) in flight."""
        return self._groups.waiting

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`func(*args, **kwargs)` off the event loop, on the writer thread if there is one."""
        if self._writer is None:
            return await run_in_threadpool(func, *args, **kwargs)
        context = contextvars.copy_context()  # as the thread pool does
        call = functools.partial(context.run, functools.partial(func, *args, **kwargs))
        result: T = await asyncio.wrap_future(self._groups.call(call))
        return result

    async def ledger(self, program_id: str, command: Command, idempotency_key: str | None) -> dict[str, Any]:
        """`LedgerService.run`'s answer, committed with the operations of concurrent requests."""
        [outcome] = await asyncio.wrap_future(self._groups.ledger(program_id, [Operation(command, idempotency_key)]))
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    async def event(self, program_id: str, event: EventInput) -> dict[str, Any]:
        """`EventService.record`'s answer, committed with the events of concurrent requests."""
        [outcome] = await self.events(program_id, [event])
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    async def events(self, program_id: str, events: Sequence[EventInput]) -> list[Outcome]:
        """`EventService.record_many`'s answers, committed with the events of concurrent requests."""
        if not events:
            return []
        return await asyncio.wrap_future(self._groups.events(program_id, events))


async def get_write_lane(request: Request) -> WriteLane:
    lane: WriteLane = request.app.state.write_lane
    return lane


WriteLaneDep = Annotated[WriteLane, Depends(get_write_lane)]
