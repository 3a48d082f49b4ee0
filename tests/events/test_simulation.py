"""Simulation: a candidate ruleset over recorded events, compared with the rules in force,
without touching the ledger."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from dangol.domain import FixedClock, Money
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.service.simulation import Simulation
from dangol.storage import tables as t

from cli.helpers import dangol

from .conftest import MARKET

SIX_PERCENT = MARKET.replace("{rate: {points: 5, per: 100}}", "{rate: {points: 6, per: 100}}")
MARCH = (datetime(2025, 3, 1, tzinfo=timezone.utc), datetime(2025, 4, 1, tzinfo=timezone.utc))


def _march(services: Services, clock: FixedClock) -> None:
    record = services.events.record
    record("market", EventInput("s-a", "signup", member_id="m_a", external_ref="a"))
    record("market", EventInput("s-b", "signup", member_id="m_b", external_ref="b"))
    clock.set(datetime(2025, 3, 20, 3, tzinfo=timezone.utc))
    record("market", EventInput("p-1", "purchase", "m_a", amount=Money(30000, "KRW"), order_id="o1"))
    record("market", EventInput("p-2", "purchase", "m_a", amount=Money(10000, "KRW"), order_id="o2"))
    record("market", EventInput("v-1", "review", "m_a", order_id="o1"))  # her own order: 100


def _rows(services: Services) -> tuple[int, int]:
    with services.db.read() as conn:
        return (conn.execute(select(func.count()).select_from(t.transactions)).scalar_one(),
                conn.execute(select(func.count()).select_from(t.events)).scalar_one())


def test_a_higher_rate_costs_what_it_adds(services: Services, published: str, clock: FixedClock) -> None:
    _march(services, clock)
    before = _rows(services)
    report = Simulation(services).run("market", SIX_PERCENT, *MARCH, point_value=2).as_json()
    # In force: 2 x 1,000 welcome, 1,500 + 1,000 first purchase, 500, 100 review = 5,100.
    # 6%: base-earn 1,800 and 600 instead of 1,500 and 500: +400 points, +800 KRW at 2 KRW a point.
    assert report["events"] == 5
    assert report["current"]["points"] == 5100 and report["candidate_result"]["points"] == 5500
    assert report["current"]["by_rule"]["base-earn"] == 2000 and report["candidate_result"]["by_rule"]["base-earn"] == 2400
    assert report["difference"] == {"points": 400, "cost": 800, "members_affected": 1}
    # The candidate's ladder: nobody spent enough in March to leave the lowest tier.
    assert report["tiers"] == {"새싹": 2, "열매": 0, "나무": 0, "숲": 0}
    assert _rows(services) == before  # nothing written


def test_the_period_keeps_earlier_history(services: Services, published: str, clock: FixedClock,
                                          database_url: str, tmp_path: Path) -> None:
    _march(services, clock)
    # From 20 March on only: the signups are earlier history (judged by the rules in force, so
    # member a's purchase is still her first), the period holds the purchases and the review.
    since = datetime(2025, 3, 15, tzinfo=timezone.utc)
    report = Simulation(services).run("market", SIX_PERCENT, since, MARCH[1]).as_json()
    assert report["events"] == 3
    assert report["candidate_result"]["by_rule"] == {"base-earn": 2400, "first-purchase": 1000, "review": 100}
    candidate = tmp_path / "six.yaml"
    candidate.write_text(SIX_PERCENT, encoding="utf-8")
    result = dangol(database_url, "simulate", str(candidate), "--from", "2025-03-15T00:00:00Z",
                    "--to", "2025-04-01T00:00:00Z", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["difference"]["points"] == 400
