"""The web foundation, in a real Chromium: pages in Korean and English, the language
switch, assets served by dangol itself (no CDN), and no serious accessibility violation."""

from __future__ import annotations

from typing import Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import WebDriverWait

from .conftest import Served, assert_accessible


def test_the_sign_in_page_speaks_korean_by_default_and_english_on_request(page: Any, web_server: Served,
                                                                         screenshot: Any) -> None:
    page.get(f"{web_server.base_url}/portal/market/sign-in")
    assert page.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ko"
    assert "로그인" in page.find_element(By.TAG_NAME, "h1").text
    assert_accessible(page)
    switch = page.find_element(By.LINK_TEXT, "English")
    switch.click()
    WebDriverWait(page, 15).until(staleness_of(switch))
    assert page.find_element(By.TAG_NAME, "h1").text == "Sign in to your points"
    page.get(f"{web_server.base_url}/portal/market/sign-in")  # the choice is remembered
    assert page.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert_accessible(page)
    screenshot("portal-sign-in-en")


def test_scripts_and_styles_come_from_dangol_itself(page: Any, web_server: Served) -> None:
    page.get(f"{web_server.base_url}/portal/market/sign-in")
    sources = [e.get_attribute("src") for e in page.find_elements(By.CSS_SELECTOR, "script[src]")]
    sources += [e.get_attribute("href") for e in page.find_elements(By.CSS_SELECTOR, "link[rel=stylesheet]")]
    assert sources and all(s.startswith(web_server.base_url + "/static/") for s in sources), sources
    assert page.execute_script("return typeof htmx") == "object"  # the vendored htmx loaded
    for source in sources:
        assert httpx.get(source).status_code == 200


def test_the_browser_language_chooses_the_page_language(web_server: Served) -> None:
    english = httpx.get(f"{web_server.base_url}/portal/market/sign-in", headers={"Accept-Language": "en-US,en;q=0.9"})
    korean = httpx.get(f"{web_server.base_url}/portal/market/sign-in",
                       headers={"Accept-Language": "fr;q=1, ko;q=0.8, en;q=0.5"})
    assert english.headers["content-language"] == "en" and "Sign in to your points" in english.text
    assert korean.headers["content-language"] == "ko"
