"""Publishing rulesets: validated with lines, content-addressed, never retroactive, versioned,
and worsened only with notice or as a recorded urgent change; members read them without a key."""

from __future__ import annotations

from datetime import datetime, timezone

from dangol.domain import FixedClock
from dangol.rules.loader import load_ruleset
from dangol.rules import ruleset_hash
from dangol.service.container import Services

from api.helpers import Api, assert_problem
from .conftest import MARKET

PATH = "/v1/programs/market/rulesets"
LOWER_RATE = MARKET.replace("award_points: {rate: {points: 5, per: 100}}", "award_points: {rate: {points: 4, per: 100}}")
HIGHER_RATE = MARKET.replace("award_points: {rate: {points: 5, per: 100}}", "award_points: {rate: {points: 6, per: 100}}")


def _at(document: str, when: str) -> str:
    return document.replace('effective_from: "2025-03-01T00:00:00+09:00"', f'effective_from: "{when}"')


def test_publish_stores_the_hash_of_the_canonical_document_and_members_read_it_without_a_key(
        admin: Api, market: str, clock: FixedClock) -> None:
    response = admin.post(PATH, {"document": MARKET})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["hash"] == ruleset_hash(load_ruleset(MARKET))
    assert body["number"] == 1 and body["status"] == "upcoming" and body["effective_from"] == "2025-02-28T15:00:00Z"
    assert response.headers["Location"] == f"{PATH}/{body['hash']}"
    anonymous = admin.client
    assert anonymous.get(f"{PATH}/upcoming").json()["items"][0]["hash"] == body["hash"]
    assert_problem(anonymous.get(f"{PATH}/current"), 409, "no-rules-in-force")
    clock.set(datetime(2025, 3, 1, tzinfo=timezone.utc))
    current = anonymous.get(f"{PATH}/current").json()
    assert current["hash"] == body["hash"] and current["status"] == "in_force"
    assert [r["id"] for r in current["document"]["rules"]][:2] == ["base-earn", "first-purchase"]
    one = anonymous.get(f"{PATH}/{body['hash']}")
    assert one.status_code == 200 and one.json()["source"] == MARKET


def test_every_mistake_is_reported_with_its_line_and_field(admin: Api, market: str) -> None:
    broken = MARKET.replace("award_points: {fixed: 1000}\n\n  - id: first-purchase",
                            "award_points: {fixed: 10.5}\n\n  - id: first-purchase").replace(
        "when: member.purchases_this_month >= 3", "when: member.purchases_this_mnth >= 3")
    problem = assert_problem(admin.post(PATH, {"document": broken}), 422, "invalid-ruleset")
    fields = {(e["line"], e["field"]) for e in problem["problems"]}
    assert (20, "rules[1].actions[0].award_points.fixed") in fields
    assert any(field == "rules[5].when" and line == 57 for line, field in fields)
    validate = admin.post(f"{PATH}/validate", {"document": broken})
    assert_problem(validate, 422, "invalid-ruleset")
    ok = admin.post(f"{PATH}/validate", {"document": MARKET}).json()
    assert ok["valid"] is True and ok["rules"] == 8 and ok["changes"] == []
    assert admin.client.get(PATH).json()["items"] == []  # validating published nothing


def test_rules_are_never_retroactive(admin: Api, market: str, clock: FixedClock) -> None:
    clock.set(datetime(2025, 3, 2, tzinfo=timezone.utc))
    problem = assert_problem(admin.post(PATH, {"document": MARKET}), 422, "validation-error")
    assert "retroactive" in problem["detail"]
    later = admin.post(PATH, {"document": MARKET, "effective_from": "2025-03-02T00:00:00Z"})
    assert later.status_code == 201
    # The effective time is content: the hash names the ruleset as it is in force.
    assert later.json()["hash"] != ruleset_hash(load_ruleset(MARKET))
    assert later.json()["effective_from"] == "2025-03-02T00:00:00Z"


def test_a_worsening_change_needs_the_notice_period_or_an_urgent_reason(
        admin: Api, services: Services, market: str, clock: FixedClock) -> None:
    admin.post(PATH, {"document": MARKET})
    clock.set(datetime(2025, 3, 10, tzinfo=timezone.utc))
    soon = _at(LOWER_RATE, "2025-03-20T00:00:00+09:00")
    problem = assert_problem(admin.post(PATH, {"document": soon}), 409, "notice-required")
    assert problem["earliest_effective_from"] == "2025-04-09T00:00:00Z"  # 30 days from now
    assert problem["worsening"] == [{"rule": "base-earn", "change": "action 1: 5 per 100 (floor) -> 4 per 100 (floor)",
                                     "worsens": True}]
    # An improvement needs no notice.
    better = admin.post(PATH, {"document": _at(HIGHER_RATE, "2025-03-11T00:00:00+09:00")})
    assert better.status_code == 201, better.text
    assert better.json()["changes"][0]["worsens"] is False
    # With 30 days' notice the worse rate is accepted.
    noticed = admin.post(PATH, {"document": _at(LOWER_RATE, "2025-04-10T00:00:00+09:00")})
    assert noticed.status_code == 201, noticed.text
    # Urgent: needs a reason, which is recorded and shown to members.
    urgent_doc = _at(LOWER_RATE.replace("version: \"2025-03 launch\"", "version: fraud"), "2025-03-12T00:00:00+09:00")
    assert_problem(admin.post(PATH, {"document": urgent_doc, "urgent": True}), 422, "validation-error")
    urgent = admin.post(PATH, {"document": urgent_doc, "urgent": True, "reason": "rate abused by resellers"})
    assert urgent.status_code == 201, urgent.text
    history = admin.client.get(PATH).json()
    assert [i["number"] for i in history["items"]] == [4, 3, 2, 1]
    assert history["items"][0]["urgent"] is True
    assert history["items"][0]["urgent_reason"] == "rate abused by resellers"
    assert [i["status"] for i in history["items"]] == ["upcoming", "upcoming", "upcoming", "in_force"]
    clock.set(datetime(2025, 3, 11, tzinfo=timezone.utc))  # the improvement took effect (03-10T15:00Z)
    statuses = [i["status"] for i in admin.client.get(PATH).json()["items"]]
    assert statuses == ["upcoming", "upcoming", "in_force", "superseded"]
    assert history["policy"] == {"notice_days": 30, "default_time_zone": "UTC"}


def test_the_notice_period_is_a_program_setting(admin: Api, market: str, clock: FixedClock) -> None:
    admin.post(PATH, {"document": MARKET})
    clock.set(datetime(2025, 3, 10, tzinfo=timezone.utc))
    response = admin.client.put(f"{PATH}/policy", json={"notice_days": 7, "default_time_zone": "Asia/Seoul"},
                                headers=admin.headers())
    assert response.status_code == 200, response.text
    assert admin.client.get(f"{PATH}/policy").json() == {"notice_days": 7, "default_time_zone": "Asia/Seoul"}
    assert admin.post(PATH, {"document": _at(LOWER_RATE, "2025-03-18T00:00:00+09:00")}).status_code == 201
    bad = admin.client.put(f"{PATH}/policy", json={"notice_days": 7, "default_time_zone": "Mars/Base"},
                           headers=admin.headers())
    assert_problem(bad, 422, "validation-error")


def test_publishing_is_idempotent_and_admin_only(admin: Api, writer: Api, market: str) -> None:
    first = admin.post(PATH, {"document": MARKET}, key="publish-1")
    again = admin.post(PATH, {"document": MARKET}, key="publish-1")
    assert again.status_code == 201 and again.json() == first.json()
    assert_problem(admin.post(PATH, {"document": HIGHER_RATE}, key="publish-1"), 409, "idempotency-conflict")
    assert_problem(admin.post(PATH, {"document": MARKET}), 422, "validation-error")  # already published
    assert_problem(writer.post(PATH, {"document": HIGHER_RATE}), 403, "forbidden")
    assert_problem(admin.post("/v1/programs/market/rulesets", {
        "document": MARKET.replace("program: market", "program: other")}), 422, "validation-error")


def test_the_ruleset_in_force_at_an_instant(services: Services, market: str, clock: FixedClock) -> None:
    first = services.rulesets.publish(market, MARKET)["hash"]
    second = services.rulesets.publish(market, _at(HIGHER_RATE, "2025-04-01T00:00:00+09:00"))["hash"]
    with services.db.read() as conn:
        assert services.rulesets.in_force(conn, market, datetime(2025, 2, 28, 14, 59, tzinfo=timezone.utc)) is None
        at_start = services.rulesets.in_force(conn, market, datetime(2025, 2, 28, 15, tzinfo=timezone.utc))
        in_april = services.rulesets.in_force(conn, market, datetime(2025, 4, 2, tzinfo=timezone.utc))
    assert at_start is not None and at_start[0] == first
    assert in_april is not None and in_april[0] == second
    assert in_april[1].effective_from == datetime(2025, 3, 31, 15, tzinfo=timezone.utc)
