"""Languages of the web pages: Babel message catalogs, the locale a request asks for, and
numbers, money and times written the way that locale writes them.

Catalogs are the `.po` files under `locales/<locale>/LC_MESSAGES/<domain>.po`, read and
compiled in memory when the app starts (a few milliseconds), so that a fresh checkout or
an installed wheel never depends on a compile step having run. Each part of the web
pages keeps its own domain (`common` for the shared layout, `portal`, `console`, ...): its
own files, merged here into one catalog per locale."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, get_currency_precision
from babel.support import Translations

LOCALES_DIR = Path(__file__).parent / "locales"
LOCALES = ("ko", "en")
DEFAULT_LOCALE = "ko"  # the demo's members are Korean; a browser asking for English gets English
LANGUAGE_COOKIE = "dangol_lang"

# Money patterns by locale, where CLDR's default is not how people write it: Koreans write
# "12,345원" (CLDR's ko pattern gives "₩12,345"); English keeps CLDR's "₩12,345".
MONEY_PATTERNS = {("ko", "KRW"): "#,##0원"}


def load_catalogs(directory: Path = LOCALES_DIR) -> dict[str, Translations]:
    """Every domain's catalog of each locale, merged into one `Translations` per locale."""
    catalogs: dict[str, Translations] = {}
    for locale in LOCALES:
        # The first catalog is the base: its header gives the locale's plural rule (merging
        # into an empty Translations would keep English's two forms for Korean's one).
        merged: Translations | None = None
        for po in sorted((directory / locale / "LC_MESSAGES").glob("*.po")):
            compiled = _compiled(po, locale)
            if merged is None:
                merged = compiled
            else:
                merged.merge(compiled)
        catalogs[locale] = merged or Translations()
    return catalogs


def _compiled(po: Path, locale: str) -> Translations:
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale, domain=po.stem)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=po.stem)


def negotiate(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The locale a request gets: an explicit choice (`?lang=`, then the cookie it leaves),
    else the first of the browser's languages (by quality) dangol speaks, else ko."""
    for choice in (query, cookie):
        if choice in LOCALES:
            return choice
    for tag in _accepted(accept_language or ""):
        language = tag.split("-")[0].lower()
        if language in LOCALES:
            return language
    return DEFAULT_LOCALE


def _accepted(header: str) -> list[str]:
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


@dataclass(frozen=True)
class Formats:
    """Numbers, points, money and times in one locale and one time zone."""

    locale: str
    time_zone: str = "UTC"

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.locale)

    def money(self, minor_units: int, currency: str) -> str:
        """An amount in minor units (KRW has none), with its currency as the locale writes it."""
        digits = get_currency_precision(currency)
        amount = Decimal(minor_units).scaleb(-digits)  # exact: no float in between
        pattern = MONEY_PATTERNS.get((self.locale, currency))
        return format_currency(amount, currency, format=pattern, locale=self.locale)

    def date(self, moment: datetime) -> str:
        return format_date(moment.astimezone(ZoneInfo(self.time_zone)), format="long", locale=self.locale)

    def datetime(self, moment: datetime) -> str:
        return format_datetime(moment, format="medium", tzinfo=ZoneInfo(self.time_zone), locale=self.locale)
