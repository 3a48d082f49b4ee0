"""Category challenges through the events endpoint, on both databases: `design-quarter` of
the example program (50,000 KRW of design in a quarter) counts the design items of an
order, not the order, and a streak's completing purchase shows the run it completed. The
worked example of docs/rules.md ("Challenges and missions"), a member in Seoul."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.service.replay import ReplayCheck
from dangol.storage import tables as t

from api.helpers import Api

from .conftest import MARKET, KST
from .test_events_api import EVENTS, send, signup

SEOUL = timezone(timedelta(hours=9))


def kst(month: int, day: int, hour: int = 10) -> str:
    return datetime(2025, month, day, hour, tzinfo=SEOUL).isoformat()


def purchase(event_id: str, member: str, day: tuple[int, int], amount: int,
             items: list[tuple[str, int]] | None = None, hour: int = 10) -> dict[str, Any]:
    return {"event_id": event_id, "type": "purchase", "member_id": member, "order_id": f"o-{event_id}",
            "occurred_at": kst(*day, hour), "amount": {"amount": amount, "currency": "KRW"},
            "items": [{"category": c, "amount": a} for c, a in items or []]}


def challenge(answer: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in answer["effects"]["challenges"] if c["challenge"] == name)


def listed(api: Api, member: str) -> dict[tuple[str, str], tuple[int, int, int]]:
    items = api.get(f"/v1/programs/market/members/{member}/challenges").json()["items"]
    return {(c["challenge"], c["period"]): (c["progress"], c["target"], c["completions"]) for c in items}


def test_the_worked_example_counts_design_items_not_orders(writer: Api, published: str, clock: FixedClock) -> None:
    clock.set(datetime(2025, 5, 1, tzinfo=timezone.utc))
    member = signup(writer, "mina")
    # Mon 3 March: the first purchase, 30,000 KRW of design: 30,000 of 50,000.
    first = send(writer, purchase("p1", member, (3, 3), 30_000, [("design", 30_000)]))
    assert (challenge(first, "design-quarter")["progress"], challenge(first, "design-quarter")["completed"]) == (
        30_000, False)
    assert [c["template"] for c in first["effects"]["coupons"]] == ["design-10"]  # the first-purchase coupon

    # Mon 10 March: 40,000 KRW, of which 25,000 design and 15,000 writing: 55,000 (not 70,000), done.
    second_body = purchase("p2", member, (3, 10), 40_000, [("design", 25_000), ("writing", 15_000)])
    quoted = writer.post(f"{EVENTS}/quote", second_body).json()
    assert challenge(quoted, "design-quarter")["progress"] == 55_000
    second = send(writer, second_body)
    design = challenge(second, "design-quarter")
    assert (design["progress"], design["target"], design["completed"], design["period"]) == (
        55_000, 50_000, True, "2025-Q1")
    assert design["rewards"] == {"points": 0, "badge": "design-patron", "coupon": None}
    # Its design-10 coupon is withheld: the member holds the first-purchase one (per_member: 1).
    assert second["effects"]["coupons"] == []
    assert any("design-10" in w["reason"] for w in second["withheld"])

    # Mon 17 March, 5,000: the third purchase this month; Sun 30 March (week 13), 5,000:
    # the fourth week in a row completes weekly-streak, shown 4 of 4 (not 0).
    third = send(writer, purchase("p3", member, (3, 17), 5_000))
    assert challenge(third, "three-this-month")["completed"] is True
    assert (challenge(third, "weekly-streak")["progress"], challenge(third, "weekly-streak")["completed"]) == (3, False)
    fourth = send(writer, purchase("p4", member, (3, 30), 5_000))
    streak = challenge(fourth, "weekly-streak")
    assert (streak["progress"], streak["target"], streak["completed"], streak["week"]) == (4, 4, True, "2025-W13")
    assert streak["rewards"] == {"points": 1_000, "badge": None, "coupon": fourth["effects"]["coupons"][0]["code"]}
    assert (challenge(fourth, "three-this-month")["progress"], challenge(fourth, "three-this-month")["completed"]) == (
        4, False)
    assert all(c["challenge"] != "design-quarter" for c in fourth["effects"]["challenges"])  # no design items

    # What the member sees: design 55,000 of 50,000, completed once; the stored streak starts again.
    assert listed(writer, member) == {("design-quarter", "2025-Q1"): (55_000, 50_000, 1),
                                      ("three-this-month", "2025-03"): (4, 3, 1),
                                      ("weekly-streak", "streak"): (0, 4, 1)}
    badges = writer.get(f"/v1/programs/market/members/{member}/badges").json()["items"]
    assert [b["badge"] for b in badges] == ["first-order", "design-patron", "regular"]


def test_one_small_design_item_in_a_large_order_counts_only_itself(writer: Api, published: str,
                                                                    clock: FixedClock) -> None:
    clock.set(datetime(2025, 5, 1, tzinfo=timezone.utc))
    member = signup(writer, "jun")
    send(writer, purchase("p1", member, (3, 3), 30_000, [("design", 30_000)]))
    # 60,000 KRW with one 1,000 KRW design item: 31,000 of 50,000, not completed, no badge.
    big = send(writer, purchase("p2", member, (3, 11), 60_000, [("writing", 59_000), ("design", 1_000)]))
    design = challenge(big, "design-quarter")
    assert (design["progress"], design["completed"]) == (31_000, False) and "rewards" not in design
    assert big["effects"]["badges"] == []
    # An order with no design item leaves it alone; items sent without amounts add nothing to a spend.
    none = send(writer, purchase("p3", member, (3, 12), 80_000, [("writing", 80_000)]))
    bare = send(writer, purchase("p4", member, (3, 13), 70_000, [("design", 0)]))
    moved = [c["challenge"] for answer in (none, bare) for c in answer["effects"]["challenges"]]
    assert "design-quarter" not in moved
    assert listed(writer, member)[("design-quarter", "2025-Q1")] == (31_000, 50_000, 0)
    # The same items in April count toward the second quarter, from 0.
    april = send(writer, purchase("p5", member, (4, 2), 60_000, [("writing", 59_000), ("design", 1_000)]))
    assert (challenge(april, "design-quarter")["period"], challenge(april, "design-quarter")["progress"]) == (
        "2025-Q2", 1_000)


def test_a_refund_of_design_items_takes_back_no_progress(writer: Api, published: str, clock: FixedClock) -> None:
    clock.set(datetime(2025, 5, 1, tzinfo=timezone.utc))
    member = signup(writer, "hana")
    send(writer, purchase("p1", member, (3, 3), 30_000, [("design", 30_000)]))
    done = send(writer, purchase("p2", member, (3, 10), 40_000, [("design", 25_000), ("writing", 15_000)]))
    assert challenge(done, "design-quarter")["completed"] is True
    # The design line of the second order comes back: the ledger claws back its share of the
    # order's points (25,000 of 40,000), and the challenge keeps its progress and its badge.
    refund = send(writer, {"event_id": "r1", "type": "refund", "member_id": member, "order_id": "o-p2",
                           "occurred_at": kst(3, 12), "amount": {"amount": 25_000, "currency": "KRW"},
                           "items": [{"category": "design", "amount": 25_000}]})
    assert refund["reversal"]["refund"] == {"amount": 25_000, "full": False}
    assert refund["effects"]["challenges"] == []
    assert listed(writer, member)[("design-quarter", "2025-Q1")] == (55_000, 50_000, 1)
    badges = writer.get(f"/v1/programs/market/members/{member}/badges").json()["items"]
    assert "design-patron" in [b["badge"] for b in badges]


DESIGN_VISITS = """\
  - id: design-visits
    name: Three orders with a design gig this month
    goal: {count: 3, on: purchase, category: design}
    period: month
    rewards: {points: 300}
"""


def test_a_category_count_counts_orders_with_an_item_of_the_category(services: Services, market: str,
                                                                     writer: Api, clock: FixedClock) -> None:
    # The example program with one more challenge: 3 orders with a design item in a month.
    document = MARKET.replace("  - id: weekly-streak\n", DESIGN_VISITS + "  - id: weekly-streak\n")
    assert document != MARKET
    services.rulesets.set_policy(market, 30, KST)
    services.rulesets.publish(market, document)
    clock.set(datetime(2025, 5, 1, tzinfo=timezone.utc))
    member = signup(writer, "seo")

    def visits(answer: dict[str, Any]) -> tuple[int, bool] | None:
        found = [c for c in answer["effects"]["challenges"] if c["challenge"] == "design-visits"]
        return (found[0]["progress"], found[0]["completed"]) if found else None

    # Two design lines (one of 3 units) in one order: 1 order. Whatever their amounts.
    lines = [{"category": "design", "amount": 3_000, "quantity": 3}, {"category": "design", "amount": 6_000}]
    assert visits(send(writer, {**purchase("p1", member, (3, 3), 9_000), "items": lines})) == (1, False)
    assert visits(send(writer, purchase("p2", member, (3, 4), 20_000, [("writing", 20_000)]))) is None
    assert visits(send(writer, purchase("p3", member, (3, 5), 500, [("design", 0)]))) == (2, False)
    third = send(writer, purchase("p4", member, (3, 6), 40_000, [("design", 1_000), ("writing", 39_000)]))
    assert visits(third) == (3, True)
    assert ("challenge:design-visits", 300) in [(p["rule_id"], p["points"]) for p in third["effects"]["points"]]


def test_replay_accepts_a_completed_streak_recorded_as_0_of_4(writer: Api, published: str, services: Services,
                                                               clock: FixedClock) -> None:
    # Answers recorded before the completing step showed its run said `progress: 0` there.
    clock.set(datetime(2025, 5, 1, tzinfo=timezone.utc))
    member = signup(writer, "yuna")
    for n, day in enumerate((3, 10, 17, 24)):
        send(writer, purchase(f"p{n}", member, (3, day), 5_000))
    with services.db.write() as conn:
        row = conn.execute(select(t.events.c.id, t.events.c.result).where(t.events.c.event_id == "p3")).one()
        result = json.loads(row.result)
        [streak] = [c for c in result["effects"]["challenges"] if c["challenge"] == "weekly-streak"]
        assert (streak["progress"], streak["completed"]) == (4, True)
        streak["progress"] = 0
        conn.execute(t.events.update().where(t.events.c.id == row.id).values(result=json.dumps(result)))
    report = ReplayCheck(services).run("market")
    assert report.ok, report.differences
    # What it does compare is still compared: a completion that did not happen is found.
    with services.db.write() as conn:
        streak["completed"] = False
        conn.execute(t.events.update().where(t.events.c.id == row.id).values(result=json.dumps(result)))
    report = ReplayCheck(services).run("market")
    assert not report.ok and "event 'p3'" in report.differences[0]
