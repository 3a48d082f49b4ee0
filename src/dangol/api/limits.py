"""A cap on request bodies, enforced before any of the body reaches a route."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import http_problem

MAX_BODY_BYTES = 64 * 1024
MAX_BATCH_BODY_BYTES = 2 * 1024 * 1024  # a thousand events, `POST …/events:batch`
BATCH_SUFFIX = ":batch"


class BodySizeLimit:
    """Refuses bodies over `limit` bytes (`batch_limit` on the paths of batch operations)
    with a 413 problem, whether announced by Content-Length or streamed in chunks.
    Requests are small, so the body is read here in full and handed to the app from memory."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES, batch_limit: int = MAX_BATCH_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit
        self.batch_limit = batch_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.batch_limit if scope["path"].endswith(BATCH_SUFFIX) else self.limit
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        response = http_problem(Request(scope), 413, f"request bodies are limited to {limit} bytes")
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
