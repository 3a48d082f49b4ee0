"""The HTTP adapter: FastAPI routes that translate requests into service calls."""

from .app import app_from_env, create_app

__all__ = ["app_from_env", "create_app"]
