"""`dangol serve`: the HTTP API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from .context import state


def serve(ctx: typer.Context,
          host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000) -> None:
    """Serve the HTTP API.

    The OpenAPI document is at /openapi.json, interactive docs at /docs."""
    import uvicorn

    from ..api.app import create_app

    services = state(ctx).open()
    app = create_app(services, dispose_on_shutdown=True, serving=True)
    uvicorn.run(app, host=host, port=port, log_level="info")
