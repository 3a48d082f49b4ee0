"""The console's pages beyond sign-in, over HTTP on both engines: member status actions,
the member page's lots, the dashboard's figures and charts, the rules editor (problems at
their line, changes, simulation, publishing with notice), API keys and the log."""

from __future__ import annotations

import re
from importlib.resources import files

from dangol.domain import FixedClock
from dangol.domain.commands import Earn, Enroll, Redeem
from dangol.service.container import Services
from dangol.staff.roles import Role

from .test_console import console, form_token, signed_in  # noqa: F401 - the fixture

MARKET = files("dangol.rules.examples").joinpath("market.yaml").read_text()


def enrolled(services: Services, ref: str = "customer-1") -> str:
    return str(services.ledger.run("market", Enroll(ref), f"enrol-{ref}")["member"]["id"])


def test_support_suspends_reactivates_and_closes_a_member_with_each_in_the_audit_log(
        console: tuple[Services, dict[Role, str]], clock: FixedClock) -> None:  # noqa: F811
    services, secrets = console
    member = enrolled(services)
    browser = signed_in(services, secrets, Role.SUPPORT, clock)
    page = browser.get(f"/console/programs/market/members/{member}").text
    token = form_token(page)
    base = f"/console/programs/market/members/{member}"
    assert browser.post(f"{base}/suspend", data={"csrf_token": token, "key": "s1",
                                                 "status_reason": "chargeback"}).status_code == 303
    assert services.reader.member("market", member)["status"] == "suspended"
    assert browser.post(f"{base}/reactivate", data={"csrf_token": token, "key": "r1"}).status_code == 303
    assert browser.post(f"{base}/close", data={"csrf_token": token, "key": "c1"}).status_code == 303
    assert browser.post(f"{base}/close", data={"csrf_token": token, "key": "c1"}).status_code == 303  # re-sent
    again = browser.post(f"{base}/suspend", data={"csrf_token": token, "key": "s2"})
    assert again.status_code == 400 and 'role="alert"' in again.text  # closed is final: said, nothing written
    entries = [e for e in services.staff_audit.entries().items if e["member_id"] == member]
    assert [(e["action"], e["before"]["status"], e["after"]["status"]) for e in entries] == [
        ("member.suspend", "active", "suspended"), ("member.reactivate", "suspended", "active"),
        ("member.close", "active", "closed")]
    assert entries[0]["detail"]["reason"] == "chargeback"
    closed = browser.get(base).text
    assert 'id="status">closed' in closed and "/suspend" not in closed


def test_the_dashboard_counts_members_and_points_per_day_with_accessible_charts(
        console: tuple[Services, dict[Role, str]], clock: FixedClock) -> None:  # noqa: F811
    services, secrets = console
    members = [enrolled(services, f"c{i}") for i in range(3)]
    services.ledger.run("market", Earn(members[0], 10_000, order_ref="order-1"), "earn-1")
    services.ledger.run("market", Redeem(members[0], 1_000), "redeem-1")
    browser = signed_in(services, secrets, Role.AUDITOR, clock)
    page = browser.get("/console/programs/market/dashboard?lang=en")
    assert page.status_code == 200
    assert re.search(r'id="members">3<', page.text) and re.search(r'id="active-30">1<', page.text)
    assert re.search(r'id="outstanding">9,000<', page.text)
    assert page.text.count("<svg") == 8 and 'role="img"' in page.text and "<title id=" in page.text
    overview = services.dashboard.overview("market")
    today = overview.days[-1]
    assert (today.issued, today.redeemed, today.expired, today.outstanding) == (10_000, 1_000, 0, 9_000)
    assert overview.days[-2].outstanding == 0 and overview.months[-1].issued == 10_000


def test_a_ruleset_with_mistakes_shows_each_at_its_line_and_a_good_one_is_simulated_and_published(
        console: tuple[Services, dict[Role, str]], clock: FixedClock) -> None:  # noqa: F811
    services, secrets = console
    browser = signed_in(services, secrets, Role.MARKETER, clock)
    token = form_token(browser.get("/console/programs/market/rules?lang=en").text)
    broken = MARKET.replace("award_points: {fixed: 1000}", "award_points: {fixed: lots}", 1)
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "fixed: lots" in text)
    answer = browser.post("/console/programs/market/rules/check?lang=en",
                          data={"csrf_token": token, "document": broken})
    assert answer.status_code == 400
    assert re.search(rf'<li id="line-{line}" class="has-problem">.*?data-line="{line}"', answer.text, re.S)
    assert "fixed: lots" in answer.text  # the form keeps what was typed
    draft = MARKET.replace('effective_from: "2025-03-01T00:00:00+09:00"', 'effective_from: "2026-01-02T00:00:00Z"')
    simulated = browser.post("/console/programs/market/rules/check?lang=en",
                             data={"csrf_token": token, "document": draft, "simulate": "1"})
    assert simulated.status_code == 200, simulated.text
    assert "would have awarded 0 points more to 0 members over the last 90 days" in simulated.text
    published = browser.post("/console/programs/market/rules/publish",
                              data={"csrf_token": token, "document": draft, "key": "publish-1"})
    assert published.status_code == 303, published.text
    assert services.rulesets.history("market")["items"][0]["number"] == 1
    worse = draft.replace("{rate: {points: 5, per: 100}}", "{rate: {points: 1, per: 100}}").replace(
        "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z")
    refused = browser.post("/console/programs/market/rules/publish?lang=en",
                           data={"csrf_token": token, "document": worse, "key": "publish-2"})
    assert refused.status_code == 409 and "needs notice" in refused.text and "rate" in refused.text
    urgent = browser.post("/console/programs/market/rules/publish?lang=en", data={
        "csrf_token": token, "document": worse, "key": "publish-3", "urgent": "1", "reason": "fraud"})
    assert urgent.status_code == 403  # urgent is the owner's
    owner = signed_in(services, secrets, Role.OWNER, clock)
    done = owner.post("/console/programs/market/rules/publish", data={
        "csrf_token": form_token(owner.get("/console/").text), "document": worse, "key": "publish-4",
        "urgent": "1", "reason": "fraud"})
    assert done.status_code == 303
    published_by = [(e["actor"], e["detail"]["urgent"]) for e in services.staff_audit.entries().items
                    if e["action"] == "rules.publish"]
    assert published_by == [("staff:marketer", False), ("staff:owner", True)]


def test_an_owner_creates_a_key_sees_its_token_once_and_revokes_it(
        console: tuple[Services, dict[Role, str]], clock: FixedClock) -> None:  # noqa: F811
    services, secrets = console
    browser = signed_in(services, secrets, Role.OWNER, clock)
    token = form_token(browser.get("/console/programs/market/api-keys").text)
    refused = browser.post("/console/programs/market/api-keys", data={"csrf_token": token, "name": ""})
    assert refused.status_code == 400 and 'id="key-error"' in refused.text
    made = browser.post("/console/programs/market/api-keys", data={"csrf_token": token, "name": "pos",
                                                                    "scope": ["read", "write"]})
    shown = re.search(r'<code id="token">(dgl_[^<]+)</code>', made.text)
    assert made.status_code == 200 and shown
    assert services.programs.authenticate(shown.group(1)) is not None
    assert shown.group(1) not in browser.get("/console/programs/market/api-keys").text
    key_id = services.programs.api_keys("market")[0].id
    assert browser.post(f"/console/programs/market/api-keys/{key_id}/revoke",
                        data={"csrf_token": token}).status_code == 303
    assert services.programs.api_keys("market")[0].revoked_at is not None
    assert browser.get("/console/log").status_code == 200
