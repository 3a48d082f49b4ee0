"""API keys: `Authorization: Bearer dgl_…` or `X-API-Key: dgl_…`.

Authentication happens in `AuthenticatedRoute`, before FastAPI reads the body or
validates anything, so that a caller without a valid key gets a 401 whatever it sent.
Authorization is the `require(scope)` dependency: program keys act only on their own
program, with the read scope for GETs and the write scope for everything else, and the
personal scope for members' personal data; the admin key (made by `dangol init`) may do
anything."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from ..service.container import Services
from ..service.programs import ApiKey, Scope
from .problems import ApiProblem

# Only the alphabet tokens are made of reaches the database: a header with NUL or other
# odd bytes is simply not a key.
_TOKEN = re.compile(r"^dgl_[A-Za-z0-9_-]{1,196}$")

# The two ways to send a key, as the OpenAPI document declares them (on every operation of
# an `AuthenticatedRoute`; app.py adds the schemes). The headers are read by `_token`, not by
# FastAPI's security dependencies: declared on `authorize`, those were solved on every
# request only to be ignored, some 25 µs of a request's CPU (measured in process).
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer dgl_…`"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "The same key in an `X-API-Key` header"},
}


def _token(request: Request) -> str | None:
    """The key sent as `Authorization: Bearer …`, else in `X-API-Key`."""
    scheme, _, credentials = (request.headers.get("authorization") or "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    return request.headers.get("x-api-key")


def _unauthorized(detail: str) -> ApiProblem:
    return ApiProblem("unauthorized", "Missing or invalid API key", 401, detail,
                      headers={"WWW-Authenticate": 'Bearer realm="dangol"'})


async def _authenticate(request: Request) -> ApiKey:
    token = _token(request)
    if not token:
        raise _unauthorized("send an API key as 'Authorization: Bearer dgl_…' or 'X-API-Key: dgl_…'")
    key = await _key_for(request.app.state.services, token) if _TOKEN.match(token) else None
    if key is None:
        raise _unauthorized("the API key is unknown or revoked")
    return key


async def _key_for(services: Services, token: str) -> ApiKey | None:
    # A key looked up in the last seconds is checked here on the event loop; only the
    # others cost a trip to the thread pool and the database.
    return services.programs.cached_key(token) or await run_in_threadpool(services.programs.authenticate, token)


class AuthenticatedRoute(APIRoute):
    """A route that only runs for a caller with a valid API key (and says so in the document)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        security: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
        options["openapi_extra"] = {"security": security, **(options.get("openapi_extra") or {})}
        super().__init__(path, endpoint, **options)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def authenticated(request: Request) -> Response:
            request.state.api_key = await _authenticate(request)
            return await handler(request)

        return authenticated


def require(*scopes: Scope) -> Callable[..., Coroutine[Any, Any, ApiKey]]:
    """A dependency that checks the authenticated key may use every one of `scopes` on the
    program named in the path, if any. It reads the raw path parameter, so that a key for
    another program learns nothing from the validation of the rest of the request."""

    # async: it only reads the request, so it runs on the event loop, not in a worker thread.
    async def authorize(request: Request) -> ApiKey:
        key: ApiKey = request.state.api_key
        program_id = request.path_params.get("program_id")
        for scope in scopes:
            if key.allows(scope, program_id):
                continue
            if scope is Scope.ADMIN:
                detail = "this operation needs the admin key"
            elif program_id is not None and program_id != key.program_id:
                detail = f"this key belongs to program {key.program_id!r}"
            else:
                detail = f"this key lacks the {scope.value!r} scope"
            raise ApiProblem("forbidden", "Not allowed for this API key", 403, detail)
        return key

    return authorize


ReadKey = Annotated[ApiKey, Depends(require(Scope.READ))]
WriteKey = Annotated[ApiKey, Depends(require(Scope.WRITE))]
AdminKey = Annotated[ApiKey, Depends(require(Scope.ADMIN))]
# Members' personal data: reading it, and erasing it (which also writes).
PersonalKey = Annotated[ApiKey, Depends(require(Scope.PERSONAL))]
PersonalWriteKey = Annotated[ApiKey, Depends(require(Scope.PERSONAL, Scope.WRITE))]
