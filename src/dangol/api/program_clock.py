"""Each request naming a program runs by that program's clock, and an answer about a test
program says so.

A pure ASGI middleware (so the scope covers the route, its dependencies and the threads they
run in, which copy the request's context): for a path under `/v1/programs/{id}`,
`/portal/{id}` or `/console/programs/{id}`, the services' `now` is the program's (its test
clock in test mode, read once for the request), and the answer for a test program carries
`Dangol-Livemode: false`. A live program's mode is cached after its first request, so live
traffic pays nothing but a set lookup; any other costs a read in a worker thread."""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..service.container import Services
from ..service.test_clocks.clocks import ProgramClocks

LIVEMODE_HEADER = "Dangol-Livemode"
_PROGRAM_PATH = re.compile(r"^/(?:v1/programs|portal|console/programs)/([a-z0-9-]{2,63})(?:/|$)")


class ProgramClockScope:
    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app, self.services = app, services  # its clocks are read per request (the schema's app has none)

    @property
    def clocks(self) -> ProgramClocks:
        return self.services.clocks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = _PROGRAM_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        program_id = found.group(1)
        # A program not known live yet (a test one, or the first request of a live one, or no
        # program at all) costs a read, in a worker thread: never the event loop's.
        test_now = None if self.clocks.known_live(program_id) else await run_in_threadpool(
            self.clocks.test_now, program_id)
        if test_now is None:
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (LIVEMODE_HEADER.lower().encode(), b"false")]
            await send(message)

        with self.clocks.pinned(test_now):
            await self.app(scope, receive, marked)
