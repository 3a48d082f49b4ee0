"""`replay --check` judges every event against the member as they were when it was
recorded: the profile then in effect (a time zone changed since moves a purchase to another
month) and the status then (a referrer closed, or suspended for a while)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import update

from dangol.domain import FixedClock, MemberStatus, Money
from dangol.domain.commands import SetMemberStatus
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.service.replay import ReplayCheck
from dangol.storage import tables as t


def _at(day: int, hour: int = 3, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=timezone.utc)


def _points(result: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(p["rule_id"], p["member_id"], p["points"]) for p in result["effects"]["points"]]


def _month_end_in_another_zone(services: Services, clock: FixedClock) -> dict[str, Any]:
    """Dan buys three times in March (Seoul, the program's zone), moves to UTC, buys on
    31 March at 20:00 UTC (1 April in Seoul): a fourth purchase of his March, with the
    frequent-buyer bonus. Then he moves back to Seoul. The answer of that purchase."""
    record = services.events.record
    record("market", EventInput("s-dan", "signup", member_id="m_dan", external_ref="dan"))
    for n, day in enumerate((12, 13, 14), start=1):
        clock.set(_at(day))
        record("market", EventInput(f"p-{n}", "purchase", "m_dan", amount=Money(10000, "KRW"), order_id=f"o{n}"))
    clock.set(_at(25))
    services.profiles.update("market", "m_dan", {"time_zone": "UTC"})
    clock.set(_at(31, 20))
    month_end = record("market", EventInput("p-4", "purchase", "m_dan", amount=Money(10000, "KRW"), order_id="o4"))
    clock.set(_at(2, month=4))
    services.profiles.update("market", "m_dan", {"time_zone": "Asia/Seoul", "tags": ["moved"]})
    return month_end


def test_a_time_zone_changed_later_does_not_move_an_earlier_purchase(services: Services, published: str,
                                                                     clock: FixedClock) -> None:
    month_end = _month_end_in_another_zone(services, clock)
    assert ("frequent-buyer", "m_dan", 200) in _points(month_end)  # 3 purchases earlier in his (UTC) March
    report = ReplayCheck(services).run("market")
    assert report.ok, report.differences
    assert report.events == 5


def test_the_profile_history_keeps_what_judging_reads_with_the_time_it_took_effect(
        services: Services, published: str, clock: FixedClock) -> None:
    _month_end_in_another_zone(services, clock)
    services.profiles.update("market", "m_dan", {"display_name": "Dan"})  # judging never reads it: no new version
    h = t.member_profile_history
    with services.db.read() as conn:
        rows = conn.execute(h.select().where(h.c.member_id == "m_dan").order_by(h.c.id)).mappings().all()
    assert [(r["recorded_at"], r["time_zone"], r["tags"]) for r in rows] == [
        (_at(25), "UTC", "[]"), (_at(2, month=4), "Asia/Seoul", '["moved"]')]
    assert "display_name" not in h.c


def test_a_referrer_closed_after_the_referral_replays_as_withheld(services: Services, published: str,
                                                                  clock: FixedClock) -> None:
    record = services.events.record
    for name in ("alice", "bob"):
        record("market", EventInput(f"s-{name}", "signup", member_id=f"m_{name}", external_ref=name))
    code = services.referrals.code_for("market", "m_alice")["referral_code"]
    record("market", EventInput("ref-1", "referral", "m_bob", referral_code=code))
    clock.set(_at(12))
    services.ledger.run("market", SetMemberStatus("m_alice", MemberStatus.CLOSED, "asked to leave"))
    clock.set(_at(13))
    first = record("market", EventInput("p-1", "purchase", "m_bob", amount=Money(10000, "KRW"), order_id="o1"))
    assert {"rule_id": "referral", "points": 1000, "reason": "the referrer is not an active member"} \
        in first["withheld"]
    report = ReplayCheck(services).run("market")
    assert report.ok, report.differences
    assert report.events == 4


def test_a_referrer_suspended_for_a_while_is_judged_as_they_were_at_each_purchase(
        services: Services, published: str, clock: FixedClock) -> None:
    """Suspended when Bob first bought (withheld), active again when Carol did (paid): replay
    sees both, though Alice is active now."""
    record = services.events.record
    for name in ("alice", "bob", "carol"):
        record("market", EventInput(f"s-{name}", "signup", member_id=f"m_{name}", external_ref=name))
    code = services.referrals.code_for("market", "m_alice")["referral_code"]
    record("market", EventInput("ref-bob", "referral", "m_bob", referral_code=code))
    record("market", EventInput("ref-carol", "referral", "m_carol", referral_code=code))
    clock.set(_at(12))
    services.ledger.run("market", SetMemberStatus("m_alice", MemberStatus.SUSPENDED))
    clock.set(_at(13))
    bob = record("market", EventInput("p-1", "purchase", "m_bob", amount=Money(10000, "KRW"), order_id="o1"))
    clock.set(_at(14))
    services.ledger.run("market", SetMemberStatus("m_alice", MemberStatus.ACTIVE))
    clock.set(_at(15))
    carol = record("market", EventInput("p-2", "purchase", "m_carol", amount=Money(10000, "KRW"), order_id="o2"))
    assert ("referral", "m_alice", 1000) not in _points(bob) and ("referral", "m_alice", 1000) in _points(carol)
    report = ReplayCheck(services).run("market")
    assert report.ok, report.differences
    assert report.events == 7


def test_a_tampered_earn_is_still_found_among_profile_changes(services: Services, published: str,
                                                              clock: FixedClock) -> None:
    _month_end_in_another_zone(services, clock)
    with services.db.write() as conn:  # the frequent-buyer bonus of 200 becomes 2,000
        posted = t.postings.c
        conn.execute(update(t.postings).where(posted.member_id == "m_dan", posted.rule_id == "frequent-buyer")
                     .values(amount=2000))
    report = ReplayCheck(services).run("market")
    assert not report.ok
    assert report.differences[0].startswith("event 'p-4' (#5, purchase): ledger transaction ")
    assert "the rules give earn of 200 points to m_dan by frequent-buyer" in report.differences[0]
