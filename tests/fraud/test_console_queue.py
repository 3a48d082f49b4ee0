"""The fraud review queue in the operator console, over HTTP on both engines: the open
reviews of the programs with why and for how much; support releases or reverses through
FraudReviews (the same form sent twice settles once, the other decision is refused),
audited with who and from where; the auditor reads, the marketer gets nothing of it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from dangol.api import create_app
from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.service.staff.audit import CLI
from dangol.staff.roles import Role
from dangol.staff.totp import code_at

from .conftest import Send
from .test_reviews import _held
from .test_screening import enrol

PASSWORD = "correct horse battery"


def signed_in(services: Services, role: Role, clock: FixedClock) -> TestClient:
    enrolled = services.staff.create(role.value, role.value, PASSWORD, CLI, totp=role is not Role.AUDITOR)
    browser = TestClient(create_app(services), base_url="https://testserver", follow_redirects=False)
    token = form_token(browser.get("/console/sign-in").text)
    code = code_at(enrolled.totp_secret, clock.now()) if enrolled.totp_secret else ""
    answer = browser.post("/console/sign-in", data={"csrf_token": token, "username": role.value,
                                                    "password": PASSWORD, "code": code})
    assert answer.status_code == 303, answer.text
    return browser


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def settle_form(html: str, review_id: int, decision: str) -> tuple[str, dict[str, str]]:
    action = f"/console/programs/market/fraud-reviews/{review_id}/{decision}"
    found = re.search(re.escape(f'action="{action}"') + r'>\s*<input type="hidden" name="csrf_token" value="([^"]+)">'
                      r'\s*<input type="hidden" name="key" value="([^"]+)">', html)
    assert found, html
    return action, {"csrf_token": found.group(1), "key": found.group(2)}


def test_support_settles_the_queue_once_each_and_the_audit_log_says_who(
        services: Services, send: Send, market: str, clock: FixedClock) -> None:
    ann, bob = enrol(send, "ann"), enrol(send, "bob")
    _held(services, send, market, ann, "dev-a", 1)
    _held(services, send, market, bob, "dev-b", 10)
    first, second = services.fraud_reviews.list(market).items
    support = signed_in(services, Role.SUPPORT, clock)
    queue = support.get("/console/fraud-reviews", headers={"Accept-Language": "en"})
    assert queue.status_code == 200
    assert ann in queue.text and bob in queue.text and "device-farm" in queue.text and "Talent market" in queue.text
    action, form = settle_form(queue.text, first["id"], "release")
    done = support.post(action, data=form)
    assert done.status_code == 303 and done.headers["location"].endswith(f"done=released&review={first['id']}")
    assert support.post(action, data=form).status_code == 303  # the same form again: settled once
    assert services.fraud_reviews.list(market).items == [second]
    assert services.reader.balance(market, ann)["held"] == 0  # released: available now
    # The other decision on a released review is refused and changes nothing.
    refused = support.post(settle_form(queue.text, first["id"], "reverse")[0], data=settle_form(
        queue.text, first["id"], "reverse")[1], headers={"Accept-Language": "en"})
    assert refused.status_code == 409 and 'role="alert"' in refused.text
    kept = services.reader.balance(market, bob)["available"]
    action, form = settle_form(queue.text, second["id"], "reverse")
    assert support.post(action, data=form).status_code == 303
    after = services.reader.balance(market, bob)
    assert after["held"] == 0 and after["available"] == kept  # the held points taken back, the rest kept
    assert services.fraud_reviews.list(market).items == []
    settled = [(e["actor"], e["action"], e["address"]) for e in services.staff_audit.entries(limit=200).items
               if e["action"].startswith("fraud.")]
    assert settled == [("staff:support", "fraud.release", "testclient"), ("staff:support", "fraud.reverse", "testclient")]
    assert "No review is open" in support.get("/console/fraud-reviews", headers={"Accept-Language": "en"}).text


def test_the_auditor_reads_the_queue_without_deciding_and_the_marketer_sees_nothing_of_it(
        services: Services, send: Send, market: str, clock: FixedClock) -> None:
    ann = enrol(send, "ann")
    _held(services, send, market, ann, "dev-a", 1)
    [review] = services.fraud_reviews.list(market).items
    auditor = signed_in(services, Role.AUDITOR, clock)
    page = auditor.get("/console/fraud-reviews")
    assert page.status_code == 200 and ann in page.text and "/release" not in page.text
    release = f"/console/programs/market/fraud-reviews/{review['id']}/release"
    assert auditor.post(release, data={"csrf_token": form_token(page.text)}).status_code == 403
    clock.advance(seconds=30)  # the next sign-in's code
    marketer = signed_in(services, Role.MARKETER, clock)
    denied = marketer.get("/console/fraud-reviews")
    assert denied.status_code == 403 and ann not in denied.text
    home = marketer.get("/console/").text
    assert "/console/fraud-reviews" not in home
    assert marketer.post(release, data={"csrf_token": form_token(home)}).status_code == 403
    assert services.fraud_reviews.list(market).items == [review]  # nothing settled


def test_a_form_without_the_sessions_token_settles_nothing(
        services: Services, send: Send, market: str, clock: FixedClock) -> None:
    ann = enrol(send, "ann")
    _held(services, send, market, ann, "dev-a", 1)
    [review] = services.fraud_reviews.list(market).items
    owner = signed_in(services, Role.OWNER, clock)
    forged = owner.post(f"/console/programs/market/fraud-reviews/{review['id']}/reverse",
                        data={"csrf_token": "0" * 64, "key": "k" * 22})
    assert forged.status_code == 303 and "reason=forged" in forged.headers["location"]
    assert services.fraud_reviews.list(market).items == [review]
