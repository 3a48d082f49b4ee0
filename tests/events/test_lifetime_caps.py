"""Lifetime caps through the events service: the counter is the member's, kept in the
database from event to event and batch to batch, so a rule's lifetime points and firings
hold across months, one by one and in batches; quotes, replay and simulation agree."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.service.replay import ReplayCheck
from dangol.service.simulation import Simulation
from dangol.storage import tables as t

from .conftest import KST

RULES = """\
program: market
version: lifetime caps
effective_from: "2025-03-01T00:00:00+09:00"
currency: KRW
rules:
  - id: welcome
    on: signup
    actions: [{award_points: {fixed: 10}}]
  - id: review-reward
    description: 300 points a review, twice a month, 1,000 points ever
    on: review
    actions: [{award_points: {fixed: 300}}]
    caps: [{per: month, times: 2}, {per: lifetime, points: 1000}]
  - id: first-voice
    description: 500 points for the first review or survey, once ever
    on: [review, survey]
    actions: [{award_points: {fixed: 500}}]
    caps: [{per: lifetime, times: 1}]
"""
START = datetime(2025, 3, 2, 3, 0, tzinfo=timezone.utc)
# A survey, then a review every 20 days for ten months: never more than two in a month.
DAYS = [0, *range(1, 300, 20)]


def history(member: str) -> list[EventInput]:
    events = [EventInput(f"{member}-signup", "signup", member_id=member, external_ref=f"c-{member}",
                         occurred_at=START)]
    for n, day in enumerate(DAYS):
        kind = "survey" if n == 0 else "review"
        events.append(EventInput(f"{member}-{n}", kind, member, occurred_at=START + timedelta(days=day, hours=1)))
    return events


def answers(results: list[Any]) -> list[tuple[int, list[str]]]:
    return [(r["total_points"], sorted(w["reason"] for w in r["withheld"])) for r in results]


def counters(services: Services, member: str) -> dict[str, int]:
    with services.db.read() as conn:
        rows = conn.execute(select(t.member_counters.c.key, t.member_counters.c.value)
                            .where(t.member_counters.c.member_id == member,
                                   t.member_counters.c.key.like("member/%/lifetime/%")))
        return {key: value for key, value in rows}


def test_lifetime_caps_hold_across_months_one_by_one_and_in_batches(services: Services, market: str,
                                                                    clock: FixedClock) -> None:
    services.rulesets.set_policy(market, 30, KST)
    services.rulesets.publish(market, RULES)
    clock.set(datetime(2026, 2, 1, tzinfo=timezone.utc))
    one_by_one = [services.events.record(market, event) for event in history("m_ann")]
    # Ben's history in two batches: the counter goes from memory (within a batch) to the
    # database and back (the second batch reads what the first wrote).
    bens = history("m_ben")
    in_batches = services.events.record_many(market, bens[:6]) + services.events.record_many(market, bens[6:])
    assert answers(in_batches) == answers(one_by_one)
    # The survey pays first-voice once, ever: no review pays it after. The reviews pay 300,
    # 300, 300, then 100 (1,000 reached), then nothing for the rest of the year.
    capped = ["cap: 1 time(s) ever"]
    both = sorted(["cap: 1 time(s) ever", "cap: 1000 points ever"])
    assert answers(one_by_one) == [(10, []), (500, []), (300, capped), (300, capped), (300, capped),
                                   (100, both), *[(0, both)] * (len(DAYS) - 5)]
    assert one_by_one[-1]["balance"]["available"] == in_batches[-1]["balance"]["available"] == 10 + 500 + 1000
    for member in ("m_ann", "m_ben"):
        assert counters(services, member) == {"member/first-voice/lifetime/times": 1,
                                              "member/review-reward/lifetime/points": 1000}

    # A quote says the same, without writing: nothing more for Ann, everything for a newcomer.
    quoted = services.events.quote(market, EventInput("q-1", "review", "m_ann"))
    assert answers([quoted]) == [(0, both)]
    services.events.record(market, EventInput("s-cy", "signup", member_id="m_cy", external_ref="c-cy"))
    assert services.events.quote(market, EventInput("q-2", "review", "m_cy"))["total_points"] == 800
    assert counters(services, "m_ann")["member/review-reward/lifetime/points"] == 1000

    # Replay judges every event again, from empty counters: the same caps, the same ledger.
    report = ReplayCheck(services).run(market)
    assert report.ok, report.differences
    # Simulation goes through the same evaluation: a lifetime cap of 600 would pay 400 less
    # to each of the two reviewers.
    candidate = RULES.replace("{per: lifetime, points: 1000}", "{per: lifetime, points: 600}")
    simulated = Simulation(services).run(market, candidate, datetime(2025, 3, 1, tzinfo=timezone.utc),
                                         clock.now()).as_json()
    assert simulated["difference"]["points"] == -800
    assert simulated["candidate_result"]["by_rule"]["review-reward"] == 1200
