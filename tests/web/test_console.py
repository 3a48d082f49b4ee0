"""The operator console in a real Chromium, in Korean and in English: an operator signs in
with password and TOTP, finds a member, adjusts with a reason (the audit log shows it),
edits the ruleset with a mistake (shown at its line), simulates, publishes; axe-core finds
no serious violation on the main pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import WebDriverWait

from dangol.service.staff.audit import CLI
from dangol.staff.totp import code_at

from .conftest import Served, assert_accessible

PASSWORD = "correct horse battery staple"
MARKET = "/v1/programs/market"


def click(page: Any, selector: str) -> None:
    """Clicks and waits for the page that answers."""
    button = page.find_element(By.CSS_SELECTOR, selector)
    button.click()
    WebDriverWait(page, 60).until(staleness_of(button))


def sign_in(page: Any, server: Served, username: str, secret: str, lang: str) -> None:
    page.get(f"{server.base_url}/console/sign-in?lang={lang}")
    page.find_element(By.ID, "username").send_keys(username)
    page.find_element(By.ID, "password").send_keys(PASSWORD)
    page.find_element(By.ID, "code").send_keys(code_at(secret, server.clock.now()))
    click(page, "form[action='/console/sign-in'] button[type=submit]")
    assert page.current_url.endswith("/console/"), page.page_source


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_an_operator_adjusts_a_member_then_edits_simulates_and_publishes_the_rules(
        page: Any, web_server: Served, screenshot: Any, lang: str) -> None:
    server = web_server
    username = f"owner-{lang}"
    secret = server.services.staff.create(username, "owner", PASSWORD, CLI).totp_secret
    assert secret
    ref = f"console-{lang}"
    member = server.api("POST", f"{MARKET}/members", {"external_ref": ref}).json()["member"]["id"]
    sign_in(page, server, username, secret, lang)
    assert_accessible(page)

    # Find the member by reference, adjust with a reason.
    page.get(f"{server.base_url}/console/members")
    page.find_element(By.ID, "q").send_keys(ref)
    click(page, "form[action='/console/members'] button[type=submit]")
    assert member in page.current_url
    assert_accessible(page)
    page.find_element(By.ID, "points").send_keys("1500")
    page.find_element(By.ID, "reason").send_keys(f"lost receipt ({lang})")
    page.execute_script("document.getElementById('points').scrollIntoView({block: 'center'})")
    screenshot(f"console-member-{lang}")
    click(page, "form[action$='/adjust'] button[type=submit]")
    assert page.find_element(By.ID, "available").text == "1,500"
    assert server.api("GET", f"{MARKET}/members/{member}/balance").json()["available"] == 1500
    page.get(f"{server.base_url}/console/audit")
    assert f"lost receipt ({lang})" in page.page_source and f"staff:{username}" in page.page_source

    # The dashboard.
    page.get(f"{server.base_url}/console/programs/market/dashboard")
    assert len(page.find_elements(By.CSS_SELECTOR, "svg[role=img]")) == 8
    assert_accessible(page)
    page.execute_script("document.getElementById('month-issued').scrollIntoView()")
    screenshot(f"console-dashboard-{lang}")

    # The rules: a mistake shown at its line, then a good draft simulated and published.
    page.get(f"{server.base_url}/console/programs/market/rules")
    assert_accessible(page)
    source = page.find_element(By.ID, "document").get_attribute("value")
    broken = source.replace("award_points: {fixed: 1000}", "award_points: {fixed: lots}", 1)
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "fixed: lots" in text)
    page.execute_script("document.getElementById('document').value = arguments[0]", broken)
    click(page, "#check")
    problem = page.find_element(By.CSS_SELECTOR, f"#line-{line} .error")
    assert problem.is_displayed() and str(line) in problem.text
    assert "fixed: lots" in page.find_element(By.ID, "document").get_attribute("value")
    assert_accessible(page)
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", problem)
    screenshot(f"console-rules-error-{lang}")
    effective = (server.clock.now() + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    bonus = 1100 if lang == "ko" else 1200
    draft = re.sub(r'effective_from: "[^"]+"', f'effective_from: "{effective}"', source, count=1).replace(
        "award_points: {fixed: 1000}", f"award_points: {{fixed: {bonus}}}", 1)
    page.execute_script("document.getElementById('document').value = arguments[0]", draft)
    click(page, "#simulate")
    summary = page.find_element(By.ID, "simulation-summary").text
    assert ("90" in summary) and re.search(r"\d", summary), summary
    assert page.find_elements(By.CSS_SELECTOR, "#changes li")
    page.execute_script("document.getElementById('simulation').scrollIntoView()")
    screenshot(f"console-rules-simulated-{lang}")
    click(page, "#publish")
    assert page.find_element(By.ID, "published").is_displayed()
    upcoming = server.api("GET", f"{MARKET}/rulesets/upcoming").json()["items"]
    assert any(f"fixed: {bonus}" in item["source"] for item in upcoming)
    page.get(f"{server.base_url}/console/log")
    assert_accessible(page)
