"""Events reach tiers and engagement: the member's tier feeds the rules (tier bonuses), a
purchase upgrades at once, a completed challenge pays its points in the event's answer;
a quote says all of it and writes nothing; replay reproduces a ledger holding all of it;
a published ruleset is an entry of the transparency log."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select

from dangol.domain import FixedClock, Money
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.service.replay import ReplayCheck
from dangol.storage import tables as t
from dangol.transparency.entry import decode

# After the launch week (3-9 March): no double points to follow.
LATER = datetime(2025, 3, 20, 3, tzinfo=timezone.utc)


def purchase(event_id: str, member: str, amount: int) -> EventInput:
    return EventInput(event_id, "purchase", member, amount=Money(amount, "KRW"), order_id=f"o-{event_id}")


def points(result: dict[str, Any]) -> dict[str, int]:
    return {p["rule_id"]: p["points"] for p in result["effects"]["points"]}


def counts(services: Services) -> dict[str, int]:
    with services.db.read() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (t.transactions, t.member_tiers, t.tier_history, t.engagement_progress,
                              t.engagement_coupons, t.engagement_badges, t.events)}


def test_an_upgrade_at_once_and_the_tier_bonus_on_the_next_purchase(services: Services, published: str,
                                                                   clock: FixedClock) -> None:
    record = services.events.record
    record("market", EventInput("s-dan", "signup", member_id="m_dan", external_ref="dan"))
    clock.set(LATER)
    # 350,000 KRW this quarter reaches 열매 (300,000): upgraded by the purchase itself.
    big = record("market", purchase("p-1", "m_dan", 350_000))
    assert [(c["from"], c["to"], c["reason"]) for c in big["effects"]["tier_changes"]] == [("새싹", "열매", "upgrade")]
    assert "tier:열매" not in points(big)  # the tier counts from the next purchase
    assert services.tiers.member_view("market", "m_dan")["tier"]["name"] == "열매"
    # 열매 earns 1 point per 100 KRW more: 100 on 10,000 KRW, besides base-earn's 500.
    after = record("market", purchase("p-2", "m_dan", 10_000))
    assert points(after)["tier:열매"] == 100 and points(after)["base-earn"] == 500
    assert after["effects"]["tier_changes"] == []


def test_a_quote_shows_the_upgrade_and_the_challenge_reward_and_writes_nothing(services: Services, published: str,
                                                                               clock: FixedClock) -> None:
    record = services.events.record
    record("market", EventInput("s-eve", "signup", member_id="m_eve", external_ref="eve"))
    clock.set(LATER)
    record("market", purchase("p-1", "m_eve", 1_000))
    record("market", purchase("p-2", "m_eve", 1_000))
    before, balance = counts(services), services.reader.balance("market", "m_eve")
    challenges = services.engagement.challenges("market", "m_eve")
    # The third purchase this month completes "three-this-month" (500 points and a badge) and,
    # at 700,000 KRW, lifts her past 열매 to 나무.
    quote = services.events.quote("market", purchase("p-3", "m_eve", 700_000))
    assert quote["recorded"] is False
    assert points(quote)["challenge:three-this-month"] == 500
    assert [c["to"] for c in quote["effects"]["tier_changes"]] == ["나무"]
    assert [b["badge"] for b in quote["effects"]["badges"]] == ["regular"]
    assert counts(services) == before and services.reader.balance("market", "m_eve") == balance
    assert services.engagement.challenges("market", "m_eve") == challenges
    # Recorded, it does what the quote said.
    done = record("market", purchase("p-3", "m_eve", 700_000))
    assert points(done) == points(quote) and done["total_points"] == quote["total_points"]
    assert done["total_points"] == sum(points(done).values())
    assert [c["to"] for c in done["effects"]["tier_changes"]] == ["나무"]
    reward = next(p for p in done["effects"]["points"] if p["rule_id"] == "challenge:three-this-month")
    assert reward["transaction"]["id"] and reward["log"]
    assert services.reader.balance("market", "m_eve")["available"] == balance["available"] + done["total_points"]


def test_replay_reproduces_tier_bonuses_and_challenge_rewards(services: Services, published: str,
                                                            clock: FixedClock) -> None:
    record = services.events.record
    record("market", EventInput("s-fay", "signup", member_id="m_fay", external_ref="fay"))
    clock.set(LATER)
    for n, amount in enumerate((400_000, 20_000, 30_000, 5_000)):
        record("market", purchase(f"p-{n}", "m_fay", amount))
    with services.db.read() as conn:
        rules = set(conn.execute(select(t.postings.c.rule_id).where(t.postings.c.rule_id.isnot(None))).scalars())
    assert {"tier:열매", "challenge:three-this-month"} <= rules
    report = ReplayCheck(services).run("market")
    assert report.ok, report.differences
    assert report.events == 5
    # A tier bonus edited in the ledger is found.
    with services.db.write() as conn:
        conn.execute(t.postings.update().where(t.postings.c.rule_id == "tier:열매",
                                               t.postings.c.member_id == "m_fay").values(amount=9999))
    report = ReplayCheck(services).run("market")
    assert not report.ok and "by tier:열매" in report.differences[0]


def test_a_published_ruleset_is_an_entry_of_the_log(services: Services, published: str) -> None:
    assert services.log.integrate() >= 1
    [entry] = [decode(base64.b64decode(e["entry"])) for e in services.log.entries(0, 1000)
               if decode(base64.b64decode(e["entry"])).type == "ruleset"]
    assert entry.hash == published and entry.program == "market" and entry.version == 1
    # The document in the log is what the hash is of: anyone can check the rules in force.
    document = json.dumps(entry.document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert "sha256:" + hashlib.sha256(document).hexdigest() == published
    assert entry.document["tiers"]["ladder"][1]["name"] == "열매"
    services.log.sign()
    assert services.log_check.run().ok
