"""The HTTP API: `create_app(services)`, or `uvicorn --factory dangol.api.app:app_from_env`
(`worker_app` for the processes of `dangol serve --workers`)."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .. import __version__
from ..service.container import Services
from ..service.log_worker import LogWorker
from ..web import install_web
from ..storage.database import DEFAULT_POOL, DEFAULT_URL
from .auth import SECURITY_SCHEMES
from .lanes import WriteLane
from .limits import BodySizeLimit
from .program_clock import ProgramClockScope
from .problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from .routes import engagement, holds, ledger, log, log_report, members, ops, programs
from .routes import events, fraud, insight, notifications, portal_links, privacy, profiles, rulesets
from .routes import tiers as tier_routes

DATABASE_URL_ENV = "DANGOL_DATABASE_URL"
POOL_ENV = "DANGOL_DATABASE_POOL"  # PostgreSQL connections a process opens at most (`dangol serve --pool-size`)
# Set to 1: a server process also runs the scheduled jobs (as `dangol worker` does), in a thread.
SERVE_WORKER_ENV = "DANGOL_SERVE_WORKER"

DESCRIPTION = """A verifiable loyalty-points ledger.

Every call except `/healthz`, `/readyz` and this document needs an API key. Every POST needs an
`Idempotency-Key` header. Errors are RFC 9457 `application/problem+json` documents whose `type`
identifies the error. See docs/api.md for the details."""


def create_app(services: Services, *, dispose_on_shutdown: bool = False, serving: bool = False) -> FastAPI:
    """The API on `services`, which stay the caller's unless `dispose_on_shutdown`.
    `serving` is for a server process: its heap is frozen (`_freeze_heap`) and, on SQLite,
    the WAL is checkpointed in the background rather than in the commits of requests."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        log_worker = LogWorker(services.log)
        stop_jobs = threading.Event()
        jobs = threading.Thread(target=services.jobs.serve, args=(stop_jobs,), name="dangol-jobs", daemon=True)
        if serving:
            services.db.checkpoint_in_background()
            log_worker.start()  # integrates and signs the transparency log behind the writes
            if os.environ.get(SERVE_WORKER_ENV) == "1":
                jobs.start()  # the lease keeps several server processes from running a job twice
            _freeze_heap()
        yield
        if serving:
            stop_jobs.set()
            if jobs.is_alive():
                jobs.join(timeout=30)
            log_worker.stop()
            services.db.stop_background_checkpoints()
        if dispose_on_shutdown:
            services.db.dispose()

    app = FastAPI(title="dangol", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  openapi_url="/openapi.json", docs_url="/docs", redoc_url=None)
    app.state.services = services
    app.state.write_lane = WriteLane(services)
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(ProgramClockScope, services=services)
    # Requests are matched against the routers in this order: the busiest writes first (some
    # 25 µs of an earn's CPU, measured). Routers sharing a path keep their relative order
    # (members before profiles, rulesets before its public reads): it decides a 405's Allow.
    for router in (ledger.router, events.router, members.router, holds.router, programs.router, ops.keyed,
                   ops.router, engagement.router, log.router, log.keyed, log_report.router, rulesets.router,
                   rulesets.public, profiles.router, tier_routes.router, privacy.router, portal_links.router,
                   notifications.router, notifications.public, insight.router, fraud.router):
        app.include_router(router)
    install_web(app)  # the member portal's pages and their static files, beside the API
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _freeze_heap() -> None:
    """Takes what is alive at startup (modules, routes, schemas, table metadata: some 125,000
    objects) out of the garbage collector's reach, for the life of the process. Otherwise
    every full collection walks them all while holding the GIL, about 65 ms here: a stall
    for every request in flight. Garbage first, so that none of it is kept."""
    gc.collect()
    gc.freeze()


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with problems declared as application/problem+json (FastAPI
    gives them the media type of the route's answers: JSON, or text for the log's notes) and
    the API key schemes that operations needing a key name (`AuthenticatedRoute`)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes)
        paths = schema.get("paths", {})
        for path in paths.values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[0] in "45" and content:
                        response["content"] = {PROBLEM_MEDIA_TYPE: next(iter(content.values()))}
        if any("security" in operation for path in paths.values() for operation in path.values()):
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES  # AuthenticatedRoute's
        app.openapi_schema = schema
    return app.openapi_schema


def app_from_env() -> FastAPI:
    """For `uvicorn --factory`: the database named by DANGOL_DATABASE_URL, migrated."""
    return _served(migrate=True)


def worker_app() -> FastAPI:
    """For each process of `dangol serve --workers`: the database named by DANGOL_DATABASE_URL,
    which the command has checked is up to date (the workers do not all migrate it at once)."""
    return _served(migrate=False)


def _served(*, migrate: bool) -> FastAPI:
    services = Services.open(os.environ.get(DATABASE_URL_ENV, DEFAULT_URL), migrate=migrate,
                             pool=int(os.environ.get(POOL_ENV, DEFAULT_POOL)))
    return create_app(services, dispose_on_shutdown=True, serving=True)
