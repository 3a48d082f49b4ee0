"""Catalogs, locale choice and formatting of the web pages (no browser)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from dangol.web.i18n import LOCALES, LOCALES_DIR, Formats, load_catalogs, negotiate

WEB = Path(LOCALES_DIR).parent


@pytest.mark.parametrize(("query", "cookie", "header", "expected"), [
    (None, None, None, "ko"), (None, None, "en-GB,en;q=0.9", "en"), (None, None, "fr, en;q=0.1", "en"),
    (None, None, "de", "ko"), ("en", None, "ko", "en"), (None, "en", "ko-KR", "en"), ("xx", "ko", "en", "ko"),
    (None, None, "en;q=0.2, ko;q=0.9", "ko"), (None, None, "en;q=abc, ko", "ko"),
])
def test_the_locale_follows_the_choice_then_the_browser_then_korean(query: str | None, cookie: str | None,
                                                                    header: str | None, expected: str) -> None:
    assert negotiate(query, cookie, header) == expected


def test_money_and_numbers_are_written_as_each_locale_writes_them() -> None:
    assert Formats("ko").money(12_345, "KRW") == "12,345원"
    assert Formats("en").money(12_345, "KRW") == "₩12,345"
    assert Formats("en").money(1_234_56, "USD") == "$1,234.56"
    assert Formats("ko").number(1_234_567) == "1,234,567"


def test_times_are_shown_in_the_program_time_zone() -> None:
    late = datetime(2026, 3, 31, 16, 30, tzinfo=timezone.utc)  # already 1 April in Seoul
    assert "4월 1일" in Formats("ko", "Asia/Seoul").date(late)
    assert "March 31" in Formats("en", "UTC").date(late)


def _messages() -> set[str]:
    found = extract_from_dir(str(WEB), method_map=[("templates/**.html", "jinja2"), ("**.py", "python")],
                             keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None})
    ids: set[str] = set()
    for _, _, message, _, _ in found:
        ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_of_the_pages_is_in_each_catalog(locale: str) -> None:
    catalogued: set[str] = set()
    for po in (LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po"):
        with po.open("rb") as source:
            catalog = read_po(source, locale=locale)
        catalogued |= {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        if locale == "ko":  # Korean is written out: an empty translation would show English
            assert [m.id for m in catalog if m.id and not m.string] == [], po
    assert sorted(_messages() - catalogued) == []


def test_catalogs_of_several_domains_merge_into_one_per_locale() -> None:
    catalogs = load_catalogs()
    assert catalogs["ko"].gettext("Skip to content") == "본문으로 건너뛰기"  # common
    assert catalogs["ko"].gettext("My points") != "My points"  # portal
    assert catalogs["en"].gettext("My points") == "My points"
    # Plurals follow each locale's rule: one form in Korean, two in English.
    message = ("%(num)s day left in this window (until %(date)s)", "%(num)s days left in this window (until %(date)s)")
    assert catalogs["ko"].ngettext(*message, 2) == catalogs["ko"].ngettext(*message, 1) != message[0]
    assert catalogs["en"].ngettext(*message, 2) == message[1]
