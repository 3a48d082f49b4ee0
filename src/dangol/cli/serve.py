"""`dangol serve`: the HTTP API under uvicorn, in one process or several (PostgreSQL)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from .context import CliError, state

# How long a worker may take to answer uvicorn's health checks before it is killed and
# started again. A new worker answers only once it has imported the app, a couple of seconds
# of CPU; on a busy machine uvicorn's default of 5 seconds killed workers as they started.
WORKER_HEALTHCHECK_SECONDS = 30


def serve(ctx: typer.Context,
          host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
          workers: Annotated[int, typer.Option(
              min=1, help="Server processes on the one port (PostgreSQL only), each with its own pool of up "
                          "to 30 database connections.")] = 1,
          jobs: Annotated[bool, typer.Option(
              "--jobs", help="Also run the scheduled jobs, as `dangol worker` does (each process; the "
                             "database lease lets one run each job at a time).")] = False) -> None:
    """Serve the HTTP API.

    The OpenAPI document is at /openapi.json, interactive docs at /docs."""
    import uvicorn

    from ..api.app import DATABASE_URL_ENV, SERVE_WORKER_ENV, create_app

    cli = state(ctx)
    if workers > 1 and cli.is_sqlite:
        # One writer at a time: one process, whose writer thread queues them, serves it best;
        # several would only wait on each other's locks in SQLite's busy handler.
        raise CliError("--workers needs PostgreSQL: on SQLite, serve with one process (writes go one at a time)")
    if jobs:
        os.environ[SERVE_WORKER_ENV] = "1"  # read by the app's start-up, in this process or the workers
    services = cli.open()
    if workers == 1:
        app = create_app(services, dispose_on_shutdown=True, serving=True)
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    services.db.dispose()  # checked, and up to date: each worker opens its own
    os.environ[DATABASE_URL_ENV] = cli.database_url  # what the workers build their app on
    uvicorn.run("dangol.api.app:worker_app", factory=True, workers=workers, host=host, port=port,
                log_level="info", timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS)
