"""`replay --check` replays the tiers job's runs: a downgrade the job applied after a grace
is not found again by the member's next purchase (which would make its `tier_changes`
differ from the recorded answer and the check fail on a ledger that is right)."""

from __future__ import annotations

from datetime import datetime, timezone

from dangol.domain import FixedClock, Money
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.service.replay import ReplayCheck


def test_a_downgrade_by_the_tiers_job_is_replayed(services: Services, published: str, clock: FixedClock) -> None:
    record = services.events.record
    record("market", EventInput("s-1", "signup", member_id="m_mina", external_ref="mina"))
    clock.set(datetime(2025, 3, 20, 1, tzinfo=timezone.utc))
    # 320,000 in Q1: 열매 at once. Nothing in Q2: `grace` at its end, 열매 kept until 15 July.
    record("market", EventInput("p-1", "purchase", "m_mina", amount=Money(320_000, "KRW"), order_id="o1"))
    clock.set(datetime(2025, 7, 1, 0, tzinfo=timezone.utc))
    assert services.tiers.recalculate("market").as_json()["grace"] == 1
    clock.set(datetime(2025, 7, 15, 0, tzinfo=timezone.utc))
    assert services.tiers.recalculate("market").as_json()["downgrades"] == 1
    clock.set(datetime(2025, 7, 21, 1, tzinfo=timezone.utc))
    # As 새싹, no tier bonus and no tier change: the job made them already.
    after = record("market", EventInput("p-2", "purchase", "m_mina", amount=Money(100_000, "KRW"), order_id="o2"))
    assert after["effects"]["tier_changes"] == []
    assert [(p["rule_id"], p["points"]) for p in after["effects"]["points"]] == [("base-earn", 5000)]
    report = ReplayCheck(services).run("market")
    assert report.ok, report.differences
    assert report.events == 3
