"""`dangol serve`: the HTTP API under uvicorn, in one process or several (PostgreSQL)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ..storage.connection_limits import ConnectionLimits, connection_limits
from ..storage.database import DEFAULT_POOL
from .context import CliError, state
from .output import err

# How long a worker may take to answer uvicorn's health checks before it is killed and
# started again. A new worker answers only once it has imported the app, a couple of seconds
# of CPU; on a busy machine uvicorn's default of 5 seconds killed workers as they started.
WORKER_HEALTHCHECK_SECONDS = 30
# Connections each of several server processes opens at most. A process's writes of points
# and events go through one group-commit thread (one connection, api/group_commit.py); the
# rest are reads and the odd other write, which wait a moment for a connection rather than
# take the server's last ones: 4 workers need 40, within PostgreSQL's default of 100.
WORKER_POOL = 10


def serve(ctx: typer.Context,
          host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
          workers: Annotated[int, typer.Option(
              min=1, help="Server processes on the one port (PostgreSQL only).")] = 1,
          pool_size: Annotated[int | None, typer.Option(
              min=1, help=f"PostgreSQL connections each server process opens at most [default: {DEFAULT_POOL}, "
                          f"or {WORKER_POOL} with --workers above 1].", show_default=False)] = None,
          jobs: Annotated[bool, typer.Option(
              "--jobs", help="Also run the scheduled jobs, as `dangol worker` does (each process; the "
                             "database lease lets one run each job at a time).")] = False) -> None:
    """Serve the HTTP API.

    The OpenAPI document is at /openapi.json, interactive docs at /docs."""
    import uvicorn

    from ..api.app import DATABASE_URL_ENV, POOL_ENV, SERVE_WORKER_ENV, create_app

    cli = state(ctx)
    if workers > 1 and cli.is_sqlite:
        # One writer at a time: one process, whose writer thread queues them, serves it best;
        # several would only wait on each other's locks in SQLite's busy handler.
        raise CliError("--workers needs PostgreSQL: on SQLite, serve with one process (writes go one at a time)")
    if jobs:
        os.environ[SERVE_WORKER_ENV] = "1"  # read by the app's start-up, in this process or the workers
    pool = pool_size or (DEFAULT_POOL if workers == 1 else WORKER_POOL)
    services = cli.open(pool=pool)
    try:
        limits = connection_limits(services.db)
        if limits is not None and (warning := connections_warning(workers, pool, limits)):
            err.print(f"warning: {warning}", markup=False, soft_wrap=True)
    except BaseException:
        services.db.dispose()
        raise
    if workers == 1:
        app = create_app(services, dispose_on_shutdown=True, serving=True)
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    services.db.dispose()  # checked, and up to date: each worker opens its own
    os.environ[DATABASE_URL_ENV] = cli.database_url  # what the workers build their app on
    os.environ[POOL_ENV] = str(pool)
    uvicorn.run("dangol.api.app:worker_app", factory=True, workers=workers, host=host, port=port,
                log_level="info", timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS)


def connections_warning(workers: int, pool: int, limits: ConnectionLimits) -> str | None:
    """Refuses pools that together exceed what the PostgreSQL server accepts at all (some
    requests would be answered 503 under load, for want of a connection the server refuses,
    however long they were retried); warns when they exceed what other clients leave free
    now (they may close theirs, or not)."""
    needed = workers * pool
    asked = f"{workers} server process{'es' if workers > 1 else ''} × {pool} connections = {needed}"
    if needed > limits.usable:
        raise CliError(f"{asked}, more than the {limits.usable} this PostgreSQL server accepts "
                       f"(max_connections {limits.max_connections}, {limits.reserved} reserved): "
                       f"use fewer --workers, a smaller --pool-size, or raise max_connections")
    if needed > limits.free:
        return (f"{asked}, and other clients hold {limits.in_use} of the {limits.usable} this PostgreSQL "
                f"server accepts: under load, requests may be answered 503 until they close some")
    return None
