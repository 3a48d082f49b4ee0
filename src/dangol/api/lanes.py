"""Where the routes run the service calls that write, which block.

On SQLite only one transaction writes at a time, whatever the number of threads. Giving
each request its own worker thread there only adds threads that wake, take the GIL, queue
for the write lock and hand it on, one context switch after another. So on SQLite every
write request runs on one writer thread, in arrival order: under load it goes from one
request to the next without sleeping, and requests waiting their turn wait on the event
loop, where waiting is cheap. On PostgreSQL, which writes concurrently, writes use the
usual thread pool. Reads always do (FastAPI runs the sync `def` routes there)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from ..service.container import Services

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

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`func(*args, **kwargs)` off the event loop, on the writer thread if there is one."""
        if self._writer is None:
            return await run_in_threadpool(func, *args, **kwargs)
        context = contextvars.copy_context()  # as the thread pool does
        call = functools.partial(func, *args, **kwargs)
        return await asyncio.wrap_future(self._writer.submit(context.run, call))


async def get_write_lane(request: Request) -> WriteLane:
    lane: WriteLane = request.app.state.write_lane
    return lane


WriteLaneDep = Annotated[WriteLane, Depends(get_write_lane)]
