"""Custom field defaults through the events API: an event that omits a field (or sends
null) is judged as if it sent the default; what is recorded is what was sent; quotes and
replay judge it the same way; a changed default a rule reads needs notice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dangol.service.container import Services
from dangol.service.replay import ReplayCheck
from dangol.storage import tables as t

from api.helpers import Api, assert_problem

from .test_events_api import EVENTS, signup

CHECKINS = """\
program: market
version: check-ins with defaults
effective_from: "2025-02-01T00:00:00Z"
currency: KRW
event_types:
  - name: app_checkin
    fields:
      streak: {type: integer, default: 1}
      minutes: {type: integer, default: 0}
rules:
  - id: weekly
    description: 700 points on every seventh day of a streak
    on: app_checkin
    when: event.fields.streak % 7 == 0
    actions: [{award_points: {fixed: 700}}]
  - id: time-spent
    description: a point for every 10 minutes in the app, at most 30
    on: app_checkin
    actions: [{award_points: {rate: {points: 1, per: 10, of: "min(event.fields.minutes, 300)"}}}]
  - id: welcome
    on: signup
    actions: [{award_points: {fixed: 10}}]
"""


def test_omitted_fields_read_their_defaults(writer: Api, admin: Api, services: Services, market: str) -> None:
    # Without the defaults, the same rules are refused: a field an event may omit is not computed with.
    refused = admin.post("/v1/programs/market/rulesets", {"document": CHECKINS.replace(
        "{type: integer, default: 1}", "integer")})
    problem = assert_problem(refused, 422, "invalid-ruleset")
    assert [(e["line"], e["field"]) for e in problem["problems"]] == [(14, "rules[0].when")]
    assert "declare a default for `streak`" in problem["problems"][0]["message"]
    assert admin.post("/v1/programs/market/rulesets", {"document": CHECKINS}).status_code == 201
    member = signup(writer, "cust-1")

    def checkin(event_id: str, fields: dict[str, Any] | None = None, path: str = EVENTS) -> Any:
        body = {"event_id": event_id, "type": "app_checkin", "member_id": member,
                **({"fields": fields} if fields is not None else {})}
        response = writer.post(path, body)
        assert response.status_code == 200, response.text
        return [(p["rule_id"], p["points"]) for p in response.json()["effects"]["points"]]

    # Nothing sent: streak 1 (not a seventh day), 0 minutes: nothing earned.
    assert checkin("c1") == []
    assert checkin("c2", {"streak": 7, "minutes": 95}) == [("time-spent", 9), ("weekly", 700)]
    assert checkin("c3", {"streak": None, "minutes": 4000}) == [("time-spent", 30)]  # null reads the default
    assert checkin("q1", {"streak": 14}, f"{EVENTS}/quote") == [("weekly", 700)]  # quoted: minutes 0
    # What is recorded is what was sent, not the defaults: they are the ruleset's.
    with services.db.read() as conn:
        bodies = dict(conn.execute(select(t.events.c.event_id, t.events.c.body)
                                   .where(t.events.c.type == "app_checkin")).all())
    assert set(bodies) == {"c1", "c2", "c3"} and '"fields"' not in bodies["c1"]
    assert ReplayCheck(services).run("market").ok


def test_a_changed_default_a_rule_reads_needs_notice(admin: Api, services: Services, market: str) -> None:
    services.rulesets.set_policy(market, 30, "Asia/Seoul")
    assert admin.post("/v1/programs/market/rulesets", {"document": CHECKINS}).status_code == 201
    changed = CHECKINS.replace("default: 1}", "default: 0}").replace("2025-02-01T00:00:00Z", "2025-02-02T00:00:00Z")
    refused = assert_problem(admin.post("/v1/programs/market/rulesets", {"document": changed}), 409,
                             "notice-required")
    assert refused["worsening"] == [{"rule": None, "worsens": True, "change": "field 'streak' of event type "
                                     "'app_checkin': default 1 -> 0 (read by weekly)"}]
