"""POST /events and /events/quote with the example program (market.yaml), every figure by hand.
Members are in Seoul (the program's default time zone); the launch week is 3-9 March 2025."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from dangol.domain import FixedClock
from dangol.service.container import Services
from sqlalchemy import select
from dangol.storage import tables as t

from api.helpers import Api, assert_problem

EVENTS = "/v1/programs/market/events"


def send(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(EVENTS, body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def signup(api: Api, ref: str, event_id: str | None = None) -> str:
    return str(send(api, {"event_id": event_id or f"signup-{ref}", "type": "signup", "external_ref": ref})["member_id"])


def test_signup_enrols_and_pays_the_welcome_bonus_once_ever(writer: Api, published: str) -> None:
    first = send(writer, {"event_id": "e1", "type": "signup", "external_ref": "cust-1"})
    assert first["recorded"] is True and first["ruleset"] == published
    assert first["enrolled"]["external_ref"] == "cust-1"
    [welcome] = first["effects"]["points"]
    assert (welcome["rule_id"], welcome["points"], welcome["member_id"]) == ("welcome", 1000, first["member_id"])
    assert welcome["transaction"]["rule_id"] == "welcome" and welcome["transaction"]["ruleset_hash"] == published
    assert first["balance"]["available"] == 1000
    again = send(writer, {"event_id": "e2", "type": "signup", "external_ref": "cust-1"})
    assert again["member_id"] == first["member_id"] and "enrolled" not in again
    assert again["effects"]["points"] == [] and again["balance"]["available"] == 1000
    assert "once ever" in again["withheld"][0]["reason"]


def test_a_purchase_earns_by_the_rules_and_a_refund_claws_back(writer: Api, published: str,
                                                             services: Services) -> None:
    member = signup(writer, "cust-1")  # 1,000 welcome points
    # 1 March (before the launch week), 30,000 KRW, the first purchase:
    # base-earn 5% = 1,500; first-purchase 1,000; nothing else applies: 2,500.
    bought = send(writer, {"event_id": "p1", "type": "purchase", "member_id": member, "order_id": "o1",
                           "amount": {"amount": 30000, "currency": "KRW"}, "items": [{"category": "design"}]})
    assert [(p["rule_id"], p["points"]) for p in bought["effects"]["points"]] == [("base-earn", 1500),
                                                                                 ("first-purchase", 1000)]
    assert bought["total_points"] == 2500 and bought["balance"]["available"] == 3500
    # Both rules' points are one transaction, with the order's money once and a pair of
    # postings per rule, each naming its rule.
    [earn] = {p["transaction"]["id"]: p["transaction"] for p in bought["effects"]["points"]}.values()
    assert earn["money"] == {"amount": 30000, "currency": "KRW"} and earn["points"] == 2500
    assert [(p["account"], p["amount"], p["rule_id"]) for p in earn["postings"]] == [
        ("issued", -1500, "base-earn"), ("available", 1500, "base-earn"),
        ("issued", -1000, "first-purchase"), ("available", 1000, "first-purchase")]
    # A partial refund of 10,000: a third of the order, floor(2,500 x 10,000 / 30,000) = 833 points back.
    refund = {"event_id": "r1", "type": "refund", "member_id": member, "order_id": "o1",
              "amount": {"amount": 10000, "currency": "KRW"}}
    preview = writer.post(f"{EVENTS}/quote", refund).json()  # what the refund would claw back, nothing written
    assert preview["reversal"]["refund_receipt"]["refund"]["clawed_back"] == 833
    assert preview["balance"]["available"] == 3500
    partial = send(writer, refund)
    assert partial["reversal"]["refund"] == {"amount": 10000, "full": False}
    assert partial["reversal"]["refund_receipt"]["refund"]["clawed_back"] == 833
    assert partial["balance"]["available"] == 3500 - 833
    # The rest: everything the order earned is back, 2,500 in all; the welcome bonus stays.
    rest = send(writer, {"event_id": "r2", "type": "refund", "member_id": member, "order_id": "o1"})
    assert rest["reversal"]["refund"] == {"amount": 20000, "full": True}
    assert rest["balance"]["available"] == 1000
    assert_problem(writer.post(EVENTS, {"event_id": "r3", "type": "refund", "member_id": member, "order_id": "o1"}),
                   409, "refund-exceeds-order")
    assert_problem(writer.post(EVENTS, {"event_id": "r4", "type": "refund", "member_id": member, "order_id": "o9"}),
                   404, "unknown-order")
    with services.db.read() as conn:  # spend this quarter went back to zero with the refunds
        spend = conn.execute(select(t.member_counters.c.value).where(
            t.member_counters.c.member_id == member, t.member_counters.c.key == "stats/spend/quarter/2025-Q1")).scalar()
    assert spend == 0


def test_the_launch_week_and_the_frequent_buyer_bonus(writer: Api, published: str, clock: FixedClock) -> None:
    member = signup(writer, "cust-1")
    clock.set(datetime(2025, 3, 10, 3, tzinfo=timezone.utc))
    for n in range(3):  # 10 March, after the launch week: 5% of 10,000 = 500 each (+1,000 on the first)
        send(writer, {"event_id": f"p{n}", "type": "purchase", "member_id": member, "order_id": f"o{n}",
                      "amount": {"amount": 10000, "currency": "KRW"}})
    # The fourth purchase this month: base 500 + frequent-buyer 2% = 200: 700.
    fourth = send(writer, {"event_id": "p3", "type": "purchase", "member_id": member, "order_id": "o3",
                           "amount": {"amount": 10000, "currency": "KRW"}})
    assert [(p["rule_id"], p["points"]) for p in fourth["effects"]["points"]] == [("base-earn", 500),
                                                                                 ("frequent-buyer", 200)]
    # In the launch week (4 March, Seoul), a first purchase of 25,000 by another member:
    # base 1,250 + first-purchase 1,000 = 2,250 from the base rules; x2 adds 2,250: 4,500.
    clock.set(datetime(2025, 3, 4, 3, tzinfo=timezone.utc))
    other = signup(writer, "cust-2")
    week = send(writer, {"event_id": "w1", "type": "purchase", "member_id": other, "order_id": "w1",
                         "amount": {"amount": 25000, "currency": "KRW"}, "occurred_at": "2025-03-04T03:00:00Z"})
    assert [(p["rule_id"], p["points"]) for p in week["effects"]["points"]] == [
        ("base-earn", 1250), ("first-purchase", 1000), ("launch-week", 2250)]


def test_quote_returns_the_same_effects_and_writes_nothing(writer: Api, published: str, clock: FixedClock) -> None:
    member = signup(writer, "cust-1")
    body = {"event_id": "q1", "type": "purchase", "member_id": member, "order_id": "o1",
            "amount": {"amount": 25000, "currency": "KRW"}}
    quote = writer.post(f"{EVENTS}/quote", body).json()
    assert quote["recorded"] is False and quote["total_points"] == 1250 + 1000
    assert [p["transaction"] for p in quote["effects"]["points"]] == [None, None]
    assert writer.post(f"{EVENTS}/quote", body).json() == quote  # nothing changed: still the first purchase
    assert quote["balance"]["available"] == 1000
    recorded = send(writer, body)
    assert [(p["rule_id"], p["points"]) for p in recorded["effects"]["points"]] == [
        (p["rule_id"], p["points"]) for p in quote["effects"]["points"]]
    # A quote for a customer not enrolled yet: what signing up would pay.
    new = writer.post(f"{EVENTS}/quote", {"event_id": "s9", "type": "signup", "external_ref": "cust-9"}).json()
    assert new["total_points"] == 1000 and new["recorded"] is False


def test_events_are_idempotent_by_event_id(writer: Api, published: str, services: Services) -> None:
    member = signup(writer, "cust-1")
    body = {"event_id": "p1", "type": "purchase", "member_id": member, "order_id": "o1",
            "amount": {"amount": 10000, "currency": "KRW"}}
    first = send(writer, body)
    assert send(writer, body) == first
    assert_problem(writer.post(EVENTS, {**body, "amount": {"amount": 20000, "currency": "KRW"}}),
                   409, "idempotency-conflict")
    with services.db.read() as conn:
        # The welcome bonus, and the purchase's one transaction (its two rules' postings): once.
        assert conn.execute(select(t.transactions.c.id).where(t.transactions.c.member_id == member)).all().__len__() == 2
        recorded = conn.execute(select(t.events.c.event_id, t.events.c.ruleset_hash).order_by(t.events.c.id)).all()
    assert [tuple(r) for r in recorded] == [("signup-cust-1", published), ("p1", published)]


def test_refusals_are_problems_and_leave_nothing_behind(writer: Api, admin: Api, published: str,
                                                      services: Services, clock: FixedClock) -> None:
    member = signup(writer, "cust-1")
    assert_problem(writer.post(EVENTS, {"event_id": "x1", "type": "lottery", "member_id": member}),
                   422, "validation-error")
    assert_problem(writer.post(EVENTS, {"event_id": "x2", "type": "purchase", "member_id": member, "order_id": "o",
                                        "amount": {"amount": 100, "currency": "USD"}}), 422, "currency-mismatch")
    assert_problem(writer.post(EVENTS, {"event_id": "x3", "type": "review", "member_id": "m_nobody"}),
                   404, "unknown-member")
    assert_problem(writer.post(EVENTS, {"event_id": "x4", "type": "purchase", "member_id": member,
                                        "amount": {"amount": 100, "currency": "KRW"}}), 422, "validation-error")
    assert_problem(writer.post(EVENTS, {"event_id": "x5", "type": "review", "member_id": member,
                                        "occurred_at": "2025-02-01T00:00:00Z"}), 409, "no-rules-in-force")
    assert_problem(writer.post(EVENTS, {"event_id": "x6", "type": "review", "member_id": member,
                                        "occurred_at": "2026-02-01T00:00:00Z"}), 422, "validation-error")
    with services.db.read() as conn:
        assert conn.execute(select(t.events.c.event_id)).scalars().all() == ["signup-cust-1"]
    # A review of the member's own order: 100 points, once per order.
    send(writer, {"event_id": "p1", "type": "purchase", "member_id": member, "order_id": "o1",
                  "amount": {"amount": 10000, "currency": "KRW"}})
    review = {"event_id": "v1", "type": "review", "member_id": member, "order_id": "o1"}
    assert send(writer, review)["total_points"] == 100
    second = send(writer, {**review, "event_id": "v2"})
    assert second["total_points"] == 0 and second["withheld"][0]["reason"] == "cap: 1 time(s) per order"


def test_custom_event_types_declared_by_the_ruleset(writer: Api, admin: Api, services: Services, market: str,
                                                    clock: FixedClock) -> None:
    document = {"program": "market", "version": "workshops", "effective_from": "2025-02-01T00:00:00Z",
                "currency": "KRW", "event_types": ["workshop_attended"],
                "rules": [{"id": "workshop", "on": "workshop_attended", "actions": [{"award_points": {"fixed": 300}},
                                                                                    {"award_badge": {"badge": "artisan"}}]},
                          {"id": "welcome", "on": "signup", "actions": [{"award_points": {"fixed": 10}}]}]}
    assert admin.post("/v1/programs/market/rulesets", {"document": document}).status_code == 201
    member = signup(writer, "cust-1")
    result = send(writer, {"event_id": "w1", "type": "workshop_attended", "member_id": member,
                           "fields": {"workshop": "pottery", "hours": 3}})
    assert result["total_points"] == 300
    assert result["effects"]["badges"] == [{"badge": "artisan", "source": "workshop",
                                            "awarded_at": "2025-02-01T00:00:00Z"}]
    with services.db.read() as conn:
        body = conn.execute(select(t.events.c.body).where(t.events.c.event_id == "w1")).scalar()
    assert '"fields":{"hours":3,"workshop":"pottery"}' in body


CHECKINS = """\
program: market
version: check-ins
effective_from: "2025-02-01T00:00:00Z"
currency: KRW
event_types:
  - name: app_checkin
    fields: {streak: integer, channel: string}
rules:
  - id: week-streak
    on: app_checkin
    when: event.fields.streak >= 7
    actions: [{award_points: {fixed: 700}}]
  - id: welcome
    on: signup
    actions: [{award_points: {fixed: 10}}]
"""


def test_custom_event_fields_feed_the_rules(writer: Api, admin: Api, services: Services, market: str) -> None:
    # A field the ruleset does not declare is a mistake with its line and field.
    typo = admin.post("/v1/programs/market/rulesets", {"document": CHECKINS.replace("fields.streak", "fields.streek")})
    problem = assert_problem(typo, 422, "invalid-ruleset")
    assert [(e["line"], e["field"]) for e in problem["problems"]] == [(11, "rules[0].when")]
    assert admin.post("/v1/programs/market/rulesets", {"document": CHECKINS}).status_code == 201
    member = signup(writer, "cust-1")

    def checkin(event_id: str, fields: dict[str, Any]) -> Any:
        return writer.post(EVENTS, {"event_id": event_id, "type": "app_checkin", "member_id": member, "fields": fields})

    assert writer.post(f"{EVENTS}/quote", {"event_id": "c1", "type": "app_checkin", "member_id": member,
                                           "fields": {"streak": 7}}).json()["total_points"] == 700
    earned = checkin("c1", {"streak": 7, "channel": "ios", "note": "unread"}).json()
    assert [(p["rule_id"], p["points"]) for p in earned["effects"]["points"]] == [("week-streak", 700)]
    assert earned["effects"]["points"][0]["transaction"]["ruleset_hash"] == earned["ruleset"]
    assert checkin("c2", {"streak": 6}).json()["total_points"] == 0
    assert checkin("c3", {"channel": "ios"}).json()["total_points"] == 0  # no streak: None, not >= 7
    refused = assert_problem(checkin("c4", {"streak": "7"}), 422, "validation-error")
    assert refused["detail"] == "field 'streak' of the 'app_checkin' event must be an integer (or null), not '7'"
    assert checkin("c5", {"streak": 14}).json()["balance"]["available"] == 10 + 700 + 700
    with services.db.read() as conn:
        recorded = set(conn.execute(select(t.events.c.event_id).where(t.events.c.type == "app_checkin")).scalars())
    assert recorded == {"c1", "c2", "c3", "c5"}  # the refused event left no trace


def test_profiles_feed_the_rules_and_show_on_the_member(writer: Api, published: str, clock: FixedClock) -> None:
    member = signup(writer, "cust-1")
    path = f"/v1/programs/market/members/{member}"
    changed = writer.client.patch(path, json={"time_zone": "America/Los_Angeles", "birthday_month": 2,
                                              "birthday_day": 29, "tags": ["vip"], "display_name": "Mina",
                                              "leaderboard_opt_in": True},
                                  headers=writer.headers("profile-1"))
    assert changed.status_code == 200, changed.text
    shown = writer.get(path).json()
    assert shown["profile"] == {"time_zone": "America/Los_Angeles", "birthday_month": 2, "birthday_day": 29,
                                "tags": ["vip"], "display_name": "Mina", "leaderboard_opt_in": True}
    bad = writer.client.patch(path, json={"birthday_month": 2, "birthday_day": 30}, headers=writer.headers("p2"))
    assert_problem(bad, 422, "validation-error")
    assert_problem(writer.client.patch(path, json={"time_zone": "Nowhere/City"}, headers=writer.headers("p3")),
                   422, "validation-error")
    # 9 March 20:00 in Los Angeles is 10 March in Seoul: for this member the launch week still runs.
    clock.set(datetime(2025, 3, 10, 4, tzinfo=timezone.utc))
    late = send(writer, {"event_id": "p1", "type": "purchase", "member_id": member, "order_id": "o1",
                         "amount": {"amount": 10000, "currency": "KRW"}})
    assert [p["rule_id"] for p in late["effects"]["points"]] == ["base-earn", "first-purchase", "launch-week"]


def test_profile_changes_are_idempotent_and_refer_to_members_of_the_program(writer: Api, published: str) -> None:
    member = signup(writer, "cust-1")
    path = f"/v1/programs/market/members/{member}"
    first = writer.client.patch(path, json={"tags": ["vip", "vip", "early"]}, headers=writer.headers("k1"))
    assert first.json() == {"profile": {"time_zone": None, "birthday_month": None, "birthday_day": None,
                                        "tags": ["early", "vip"], "display_name": None, "leaderboard_opt_in": False}}
    assert writer.client.patch(path, json={"tags": ["vip", "vip", "early"]}, headers=writer.headers("k1")).json() == \
        first.json()
    assert_problem(writer.client.patch(path, json={"tags": []}, headers=writer.headers("k1")), 409,
                   "idempotency-conflict")
    assert_problem(writer.client.patch(path, json={"leaderboard_opt_in": True}, headers=writer.headers("k2")),
                   422, "validation-error")  # a leaderboard shows a display name: none is set
    assert_problem(writer.client.patch("/v1/programs/market/members/m_nobody", json={"tags": []},
                                       headers=writer.headers("k3")), 404, "unknown-member")
    assert_problem(writer.get("/v1/programs/market/members/m_nobody/referral-code"), 404, "unknown-member")
