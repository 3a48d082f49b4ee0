"""The member portal in a real Chromium: sign in by link, see what the API says, redeem, gift,
verify the history in the browser; both languages; accessibility of every page."""

from __future__ import annotations

import json
import time
import zipfile
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import WebDriverWait

from .conftest import Served, assert_accessible

MARKET = "/v1/programs/market"


def enrol(server: Served, ref: str, points: int) -> str:
    member = server.api("POST", f"{MARKET}/members", {"external_ref": ref}).json()["member"]["id"]
    assert server.api("POST", f"{MARKET}/members/{member}/earn", {"points": points}).status_code == 200
    return str(member)


def sign_in(page: Any, server: Served, member: str, lang: str) -> None:
    link = server.api("POST", f"{MARKET}/members/{member}/portal-links").json()
    page.get(f"{server.base_url}{link['path']}?lang={lang}")
    assert page.current_url.endswith(f"/portal/market/?lang={lang}") or page.current_url.endswith("/portal/market/")


def text(page: Any, testid: str) -> str:
    return str(page.find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]').text)


def submit(page: Any, field: Any) -> None:
    """Sends the field's form and waits for the page that answers it."""
    field.submit()
    WebDriverWait(page, 15).until(staleness_of(field))


def digits(value: str) -> int:
    return int("".join(c for c in value if c.isdigit()) or 0)


def test_a_member_signs_in_by_link_and_sees_what_the_api_says_in_korean(page: Any, web_server: Served,
                                                                       screenshot: Any) -> None:
    member = enrol(web_server, "portal-ko", 12_345)
    sign_in(page, web_server, member, "ko")
    page.get(f"{web_server.base_url}/portal/market/")
    balance = web_server.api("GET", f"{MARKET}/members/{member}/balance").json()
    assert page.find_element(By.TAG_NAME, "h1").text == "내 포인트"
    assert text(page, "available") == f"{balance['available']:,}" == "12,345"
    assert digits(text(page, "expiring")) == balance["expiring_soon"]["points"]
    tier = web_server.api("GET", f"{MARKET}/members/{member}/tier").json()
    assert text(page, "tier") == tier["tier"]["name"]
    assert_accessible(page)
    screenshot("portal-home-ko")


def test_a_member_redeems_and_errors_are_shown_at_their_field_in_english(page: Any, web_server: Served,
                                                                        screenshot: Any) -> None:
    member = enrol(web_server, "portal-en", 5_000)
    sign_in(page, web_server, member, "en")
    page.get(f"{web_server.base_url}/portal/market/act")
    assert_accessible(page)
    field = page.find_element(By.ID, "points-redeem")
    field.send_keys("9000")
    submit(page, field)
    error = page.find_element(By.CSS_SELECTOR, '#redeem-title ~ form [data-field="points"]')
    assert error.text == "You do not have that many points available."
    assert page.find_element(By.ID, "points-redeem").get_attribute("value") == "9000"  # what was typed stays
    assert web_server.api("GET", f"{MARKET}/members/{member}/balance").json()["available"] == 5_000
    screenshot("portal-redeem-error-en")
    field = page.find_element(By.ID, "points-redeem")
    field.clear()
    field.send_keys("1500")
    submit(page, field)
    assert "Done: the points were redeemed." in page.find_element(By.CSS_SELECTOR, "p.notice").text
    assert web_server.api("GET", f"{MARKET}/members/{member}/balance").json()["available"] == 3_500
    assert text(page, "available") == "3,500"


def test_a_top_tier_member_gifts_points(page: Any, web_server: Served) -> None:
    giver = enrol(web_server, "portal-giver", 4_000)
    friend = enrol(web_server, "portal-friend", 10)
    web_server.services.tiers.set_tier("market", giver, "숲")  # the demo's top tier, which may gift
    sign_in(page, web_server, giver, "ko")
    page.get(f"{web_server.base_url}/portal/market/act")
    page.find_element(By.ID, "to_member-gift").send_keys(friend)
    page.find_element(By.ID, "points-gift").send_keys("1000")
    submit(page, page.find_element(By.ID, "points-gift"))
    assert "선물했습니다" in page.find_element(By.CSS_SELECTOR, "p.notice").text
    assert web_server.api("GET", f"{MARKET}/members/{friend}/balance").json()["available"] == 1_010


def test_a_member_without_the_tier_cannot_gift(page: Any, web_server: Served) -> None:
    giver = enrol(web_server, "portal-no-gift", 4_000)
    friend = enrol(web_server, "portal-no-gift-friend", 10)
    sign_in(page, web_server, giver, "en")
    page.get(f"{web_server.base_url}/portal/market/act")
    page.find_element(By.ID, "to_member-gift").send_keys(friend)
    page.find_element(By.ID, "points-gift").send_keys("1000")
    submit(page, page.find_element(By.ID, "points-gift"))
    assert page.find_element(By.CSS_SELECTOR, '[data-field="_form"]').text == "Your tier does not allow gifting points."
    assert web_server.api("GET", f"{MARKET}/members/{giver}/balance").json()["available"] == 4_000


def _outcomes(page: Any) -> list[str]:
    cells = page.find_elements(By.CSS_SELECTOR, "[data-transaction][data-index]")
    return [c.get_attribute("data-outcome") for c in cells]


def test_the_history_is_verified_in_the_browser_and_a_tampered_proof_is_not(page: Any, web_server: Served,
                                                                           screenshot: Any) -> None:
    member = enrol(web_server, "portal-history", 3_000)
    web_server.api("POST", f"{MARKET}/members/{member}/redeem", {"points": 1_000})
    web_server.services.log.integrate()
    web_server.services.log.sign()
    sign_in(page, web_server, member, "en")
    page.get(f"{web_server.base_url}/portal/market/history")
    WebDriverWait(page, 15).until(lambda p: all(_outcomes(p)) and _outcomes(p))
    why = [c.get_attribute("data-why") for c in page.find_elements(By.CSS_SELECTOR, "[data-outcome]")]
    assert _outcomes(page) == ["ok", "ok"], why
    assert [c.text for c in page.find_elements(By.CSS_SELECTOR, "[data-outcome]")] == ["✓ verified"] * 2
    assert_accessible(page)
    screenshot("portal-history-en")
    # The same page, with every proof's first hash altered on its way to the browser.
    page.execute_script("""
        const real = window.fetch;
        window.fetch = async (path, options) => {
          const response = await real(path, options);
          if (!String(path).includes('/proof/inclusion')) return response;
          const proof = await response.json();
          proof.hashes[0] = btoa(String.fromCharCode(...new Uint8Array(32)));
          return new Response(JSON.stringify(proof), {status: 200});
        };
        document.querySelectorAll('[data-outcome]').forEach(c => c.removeAttribute('data-outcome'));
        window.dangolVerifyAll();""")
    WebDriverWait(page, 15).until(lambda p: all(_outcomes(p)))
    assert _outcomes(page) == ["bad", "bad"]
    assert "not verified" in page.find_element(By.CSS_SELECTOR, "[data-outcome]").text


def test_the_rules_page_shows_the_rules_in_force_in_plain_words(page: Any, web_server: Served) -> None:
    member = enrol(web_server, "portal-rules", 10)
    sign_in(page, web_server, member, "en")
    page.get(f"{web_server.base_url}/portal/market/rules")
    rules = page.find_element(By.CSS_SELECTOR, '[data-testid="rules"]').text
    assert "5% of every purchase in points" in rules
    assert_accessible(page)


def test_a_member_allows_marketing_and_downloads_their_data(page: Any, web_server: Served, tmp_path: Any,
                                                            screenshot: Any) -> None:
    member = enrol(web_server, "portal-privacy", 700)
    sign_in(page, web_server, member, "en")
    page.get(f"{web_server.base_url}/portal/market/privacy")
    assert page.find_element(By.TAG_NAME, "h1").text == "Privacy"
    assert_accessible(page)
    page.find_element(By.CSS_SELECTOR, 'input[name="marketing"][value="yes"]').click()
    save = page.find_element(By.CSS_SELECTOR, 'form[action$="privacy/consents"] button[type="submit"]')
    save.click()
    WebDriverWait(page, 15).until(staleness_of(save))
    assert "privacy choices are saved" in page.find_element(By.CSS_SELECTOR, '[role="status"]').text
    assert page.find_element(By.CSS_SELECTOR, 'input[name="marketing"][value="yes"]').is_selected()
    consents = web_server.api("GET", f"{MARKET}/members/{member}/consents").json()
    assert consents["purposes"]["marketing"]["record"]["source"] == "portal"
    screenshot("portal-privacy-en")
    # The download lands in a folder of this test's own.
    page.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    page.find_element(By.CSS_SELECTOR, 'form[action$="privacy/export"] button').click()
    archive = tmp_path / f"{member}.zip"
    deadline = time.monotonic() + 15
    while not archive.exists():
        assert time.monotonic() < deadline, "the archive was not downloaded"
        time.sleep(0.1)
    time.sleep(0.2)  # the browser renames the finished download to its name
    with zipfile.ZipFile(archive) as opened:
        body = json.loads(opened.read("export.json"))
    assert body["member"]["id"] == member and body["consents"]["purposes"]["marketing"]["granted"] is True
    # Marketing allowed: its kinds of message are offered on the Messages page.
    page.get(f"{web_server.base_url}/portal/market/messages")
    assert page.find_element(By.CSS_SELECTOR, 'input[name="coupon.issued"][value="email"]').is_selected()
    assert_accessible(page)
