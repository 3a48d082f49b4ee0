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

from fastapi import Depends, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from ..service.container import Services
from ..service.programs import ApiKey, Scope
from .problems import ApiProblem

# Only the alphabet tokens are made of reaches the database: a header with NUL or other
# odd bytes is simply not a key.
_TOKEN = re.compile(r"^dgl_[A-Za-z0-9_-]{1,196}$")

# These two declare the schemes in the OpenAPI document and parse the headers.
_bearer = HTTPBearer(auto_error=False, scheme_name="bearer", description="`Authorization: Bearer dgl_…`")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey",
                               description="The same key in an `X-API-Key` header")


def _unauthorized(detail: str) -> ApiProblem:
    return ApiProblem("unauthorized", "Missing or invalid API key", 401, detail,
                      headers={"WWW-Authenticate": 'Bearer realm="dangol"'})


async def _authenticate(request: Request) -> ApiKey:
    bearer = await _bearer(request)
    token = bearer.credentials if bearer is not None else await _api_key_header(request)
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
    """A route that only runs for a caller with a valid API key."""

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
    async def authorize(request: Request,
                        _bearer_scheme: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
                        _header_scheme: Annotated[str | None, Security(_api_key_header)]) -> ApiKey:
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
