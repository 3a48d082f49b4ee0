"""Gifting, a tier benefit (market.yaml: only 숲 gifts): on both engines, a transfer from a
member whose tier may not gift is refused and changes nothing; a member who bought their
way to 숲 through the events pipeline gifts; a ladder that declares gifting on no tier, and
imported history, leave transfers to the program's policy as before."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from dangol.domain import FixedClock, Money
from dangol.domain import commands as cmd
from dangol.domain.errors import TransfersNotAllowed
from dangol.importer.runner import Importer
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.service.gifting import GiftingNotAllowed
from dangol.storage import tables as t

from api.helpers import Api, assert_problem
from conftest import EXAMPLE_POLICY

from .conftest import KST, MARKET

LATER = datetime(2025, 3, 20, 3, tzinfo=timezone.utc)  # after the launch week's double points


@pytest.fixture
def market(services: Services) -> str:
    """The example program, its policy letting members send points."""
    services.programs.create_program("market", "Talent market", "KRW",
                                     dataclasses.replace(EXAMPLE_POLICY, allow_transfers=True))
    return "market"


def members(services: Services, clock: FixedClock) -> None:
    """Ana (새싹, 10,000 KRW bought) and Bo (숲: 1,000,000 KRW this quarter), both with points."""
    record = services.events.record
    for name in ("ana", "bo"):
        record("market", EventInput(f"s-{name}", "signup", member_id=f"m_{name}", external_ref=name))
    clock.set(LATER)
    record("market", EventInput("p-ana", "purchase", "m_ana", amount=Money(10_000, "KRW"), order_id="o-ana"))
    big = record("market", EventInput("p-bo", "purchase", "m_bo", amount=Money(1_000_000, "KRW"), order_id="o-bo"))
    assert [c["to"] for c in big["effects"]["tier_changes"]] == ["숲"]


def available(services: Services, member_id: str) -> int:
    return int(services.reader.balance("market", member_id)["available"])


def transactions(services: Services) -> int:
    with services.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.transactions)).scalar_one())


def test_only_a_tier_with_gifting_may_transfer(services: Services, published: str, clock: FixedClock) -> None:
    members(services, clock)
    before = (available(services, "m_ana"), available(services, "m_bo"), transactions(services))
    with pytest.raises(GiftingNotAllowed) as refused:
        services.ledger.run("market", cmd.Transfer("m_ana", "m_bo", 100, reason="a gift"), "gift-1")
    assert refused.value.detail == "only members of tier 숲 may gift points; member m_ana is 새싹"
    assert refused.value.context == {"tier": "새싹", "gifting_tiers": ["숲"]}
    assert (available(services, "m_ana"), available(services, "m_bo"), transactions(services)) == before
    # 숲 reached by the purchase: Bo gifts.
    receipt = services.ledger.run("market", cmd.Transfer("m_bo", "m_ana", 1_000, reason="a gift"), "gift-2")
    assert receipt["balance"]["available"] == before[1] - 1_000
    assert available(services, "m_ana") == before[0] + 1_000
    assert services.tiers.member_view("market", "m_bo")["tier"]["benefits"]["gifting"] is True


def test_the_api_refuses_a_gift_with_a_problem_and_changes_nothing(services: Services, published: str,
                                                                   clock: FixedClock, writer: Api) -> None:
    members(services, clock)
    path = "/v1/programs/market/members/{}/transfers"
    balance = writer.get("/v1/programs/market/members/m_ana/balance").json()
    body = assert_problem(writer.post(path.format("m_ana"), {"to_member_id": "m_bo", "points": 100}),
                          409, "gifting-not-allowed")
    assert "숲" in body["detail"] and "새싹" in body["detail"]
    assert (body["tier"], body["gifting_tiers"]) == ("새싹", ["숲"])
    assert writer.get("/v1/programs/market/members/m_ana/balance").json() == balance
    gift = writer.post(path.format("m_bo"), {"to_member_id": "m_ana", "points": 1_000})
    assert gift.status_code == 200, gift.text
    assert writer.get("/v1/programs/market/members/m_ana/balance").json()["available"] == balance["available"] + 1_000


def test_the_policy_refuses_first(services: Services, clock: FixedClock) -> None:
    # A program that allows no transfers says so, whatever the member's tier.
    services.programs.create_program("closed", "No transfers", "KRW", EXAMPLE_POLICY)
    services.rulesets.publish("closed", MARKET.replace("program: market", "program: closed"))
    clock.set(LATER)
    for name in ("cy", "di"):
        services.events.record("closed", EventInput(f"s-{name}", "signup", member_id=f"m_{name}", external_ref=name))
    with pytest.raises(TransfersNotAllowed):
        services.ledger.run("closed", cmd.Transfer("m_cy", "m_di", 1))


def test_a_ladder_without_gifting_leaves_transfers_to_the_policy(services: Services, market: str,
                                                                  clock: FixedClock, writer: Api) -> None:
    services.rulesets.set_policy(market, 30, KST)
    services.rulesets.publish(market, MARKET.replace("      gifting: true\n", ""))
    clock.set(datetime(2025, 3, 1, tzinfo=timezone.utc))
    members(services, clock)
    gift = writer.post("/v1/programs/market/members/m_ana/transfers", {"to_member_id": "m_bo", "points": 100})
    assert gift.status_code == 200, gift.text
    assert writer.get("/v1/programs/market/members/m_ana/tier").json()["tier"]["benefits"]["gifting"] is False


def test_imported_history_is_not_checked(services: Services, published: str, clock: FixedClock,
                                         tmp_path: Path) -> None:
    # The brand's history says a 새싹 member gave points: it happened, and is recorded.
    members(services, clock)
    before = available(services, "m_ana")
    history = tmp_path / "gifts.jsonl"
    history.write_text('{"event_id": "g-1", "type": "transfer", "member": "ana", "to_member": "bo", '
                       '"occurred_at": "2025-03-20T12:00:00+09:00", "points": 100}\n', encoding="utf-8")
    report: Any = Importer(services, "market").run(history, "jsonl")
    assert (report.applied, report.rejected) == (1, 0), report.rejects
    assert available(services, "m_ana") == before - 100
