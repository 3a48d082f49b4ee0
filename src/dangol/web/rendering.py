"""Server-rendered pages: one Jinja2 environment (autoescaped, with the i18n extension) and
`Pages.render`, which renders a template in the request's language.

The translation functions are installed once, new-style (`_("%(n)s points", n=…)`, escaped
like everything else), and look up the catalog of the page being rendered in a context
variable: one environment serves every locale, and concurrent requests never see each
other's language."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from babel.support import Translations
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .i18n import LANGUAGE_COOKIE, LOCALES, Formats, load_catalogs, negotiate

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_PATH = "/static"
ONE_YEAR = 365 * 86_400

_catalog: ContextVar[Translations] = ContextVar("dangol_web_catalog")


def _gettext(message: str) -> str:
    return _catalog.get().gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _catalog.get().ngettext(singular, plural, n)


class Pages:
    """The templates and catalogs of the web pages."""

    def __init__(self, templates: Path = TEMPLATES_DIR) -> None:
        self.catalogs = load_catalogs()
        self.env = Environment(loader=FileSystemLoader(templates), autoescape=select_autoescape(default=True),
                               extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
        self.env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
        self.env.globals["static"] = lambda path: f"{STATIC_PATH}/{path}"
        self.env.globals["locales"] = LOCALES

    def locale_of(self, request: Request) -> str:
        return negotiate(request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE),
                         request.headers.get("accept-language"))

    def gettext(self, locale: str, message: str) -> str:
        """A message in `locale`, for text made outside templates (form errors, messages)."""
        return self.catalogs[locale].gettext(message)

    def render(self, request: Request, template: str, context: Mapping[str, Any], *, status_code: int = 200,
               time_zone: str = "UTC", headers: Mapping[str, str] | None = None) -> HTMLResponse:
        locale = self.locale_of(request)
        token = _catalog.set(self.catalogs[locale])
        try:
            body = self.env.get_template(template).render(
                {**context, "request": request, "locale": locale, "fmt": Formats(locale, time_zone)})
        finally:
            _catalog.reset(token)
        response = HTMLResponse(body, status_code=status_code, headers=dict(headers or {}))
        response.headers["Content-Language"] = locale
        response.headers.setdefault("Cache-Control", "no-store")  # pages show a member's own points
        remember_language(request, response)
        return response


def remember_language(request: Request, response: Response) -> None:
    """The language switch (`?lang=`): remembered in a cookie for the next pages."""
    chosen = request.query_params.get("lang")
    if chosen in LOCALES:
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=ONE_YEAR, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
