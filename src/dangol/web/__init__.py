"""The web pages, served by the same app as the API (`dangol serve`): the member portal
(`/portal/{program}`) and the operator console (`/console`) on a shared foundation (templates, catalogs, static files, CSRF).

Pages are adapters like the API: they read and write through the same services."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .rendering import STATIC_PATH, Pages

STATIC_DIR = Path(__file__).parent / "static"

__all__ = ["Pages", "install_web"]


def install_web(app: FastAPI) -> Pages:
    """Mounts the static files and the pages' routes on `app` (whose `state.services` they use)."""
    from .console.admin import router as console_admin
    from .console.dashboard import router as console_dashboard
    from .console.fraud import router as console_fraud
    from .console.routes import router as console
    from .console.rules import router as console_rules
    from .portal.routes import router as portal

    pages = Pages()
    app.state.pages = pages
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(portal)
    for router in (console, console_dashboard, console_rules, console_admin, console_fraud):
        app.include_router(router)
    return pages
