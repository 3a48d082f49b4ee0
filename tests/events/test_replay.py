"""`dangol replay --check` reproduces the ledger from the recorded events and published
rules, and names the first difference when the ledger does not follow from them."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import update

from dangol.domain import FixedClock, Money
from dangol.domain.commands import Earn
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.service.replay import ReplayCheck
from dangol.storage import tables as t

from cli.helpers import dangol


def _history(services: Services, clock: FixedClock) -> None:
    """Signups, a referral, purchases in and after the launch week, a review, a partial refund."""
    record = services.events.record
    for n, name in enumerate(("alice", "bob", "carol")):
        record("market", EventInput(f"s-{name}", "signup", member_id=f"m_{name}", external_ref=name))
    code = services.referrals.code_for("market", "m_alice")["referral_code"]
    record("market", EventInput("ref-1", "referral", "m_bob", referral_code=code))
    clock.set(datetime(2025, 3, 4, 3, tzinfo=timezone.utc))  # the launch week
    record("market", EventInput("p-1", "purchase", "m_bob", amount=Money(40000, "KRW"), order_id="o1"))
    record("market", EventInput("p-2", "purchase", "m_carol", amount=Money(12345, "KRW"), order_id="o2"))
    clock.set(datetime(2025, 3, 20, 3, tzinfo=timezone.utc))
    record("market", EventInput("v-1", "review", "m_bob", order_id="o1"))
    record("market", EventInput("p-3", "purchase", "m_bob", amount=Money(10000, "KRW"), order_id="o3"))
    record("market", EventInput("r-1", "refund", "m_bob", amount=Money(10000, "KRW"), order_id="o1"))


def test_replay_reproduces_the_ledger(services: Services, published: str, clock: FixedClock) -> None:
    _history(services, clock)
    report = ReplayCheck(services).run("market")
    assert report.ok, report.differences
    assert report.events == 9
    # Earns named by rules, one per event and member: 3 welcomes; bob's first purchase 2 (his: base
    # 2,000, first-purchase 1,000, referral 1,000, launch-week +4,000; alice's referral 1,000);
    # carol's 1 (617, 1,000, +1,617); the review 1 (100); bob's second purchase 1 (500): 8; and
    # the refund's clawback: 9, all made by the events.
    assert report.transactions == 9 and report.causes == {"events": 9}


def test_replay_detects_a_ledger_that_does_not_follow(services: Services, published: str, clock: FixedClock,
                                                     database_url: str) -> None:
    _history(services, clock)
    with services.db.write() as conn:  # someone edits an earn: 4,000 launch-week points become 40,000
        posted = t.postings.c
        conn.execute(update(t.postings).where(posted.member_id == "m_bob", posted.rule_id == "launch-week")
                     .values(amount=40000))
        conn.execute(update(t.postings).where(posted.member_id.is_(None), posted.rule_id == "launch-week")
                     .values(amount=-40000))
    report = ReplayCheck(services).run("market")
    assert not report.ok
    assert report.differences[0].startswith("event 'p-1' (#5, purchase): ledger transaction ")
    assert "40000 points to m_bob by launch-week" in report.differences[0]
    assert "the rules give earn of 4000 points to m_bob by launch-week" in report.differences[0]
    result = dangol(database_url, "replay", "--check", "--program", "market")
    assert result.exit_code == 1 and result.stdout.startswith("DIFFERENT: event 'p-1'")


def test_replay_detects_a_forged_earn_and_a_rewritten_answer(services: Services, published: str,
                                                            clock: FixedClock) -> None:
    _history(services, clock)
    with services.db.write() as conn:
        conn.execute(update(t.events).where(t.events.c.event_id == "v-1").values(
            result=conn.execute(t.events.select().where(t.events.c.event_id == "v-1")).first().result.replace(
                '"points":100', '"points":1000')))
    report = ReplayCheck(services).run("market")
    assert report.differences[0].startswith("event 'v-1' (#7, review): recorded points [('review', 'm_bob', 1000)]")
    # An earn posted directly that claims a rule produced it:
    services.ledger.run("market", Earn("m_carol", points=5000, rule_id="base-earn", ruleset_hash=published))
    report = ReplayCheck(services).run("market")
    assert any("names rule 'base-earn' but no recorded event produced it" in d for d in report.differences)


def test_replay_check_from_the_cli(services: Services, published: str, clock: FixedClock, database_url: str,
                                   tmp_path: Path) -> None:
    _history(services, clock)
    result = dangol(database_url, "replay", "--check")
    assert result.exit_code == 0, result.output
    assert result.stdout == ("OK: 9 events of market replayed; 9 ledger transactions follow from them, the "
                             "recorded requests and the published rules (9 by events).\n")


def test_an_event_recorded_before_it_happened_is_refused_even_among_later_ones(
        services: Services, published: str, clock: FixedClock) -> None:
    """Replay judges events in batches at the latest recording time of the batch; an event
    edited to have happened after it was recorded is still judged at its own recording
    time, and refused as from the future, as it was when replay sent events one by one."""
    _history(services, clock)  # p-1 was recorded on 4 March; the last events on 20 March
    with services.db.write() as conn:
        conn.execute(update(t.events).where(t.events.c.event_id == "p-1").values(
            occurred_at=datetime(2025, 3, 10, 3, tzinfo=timezone.utc)))
    report = ReplayCheck(services).run("market")
    assert report.differences[0] == ("event 'p-1' (#5, purchase): was recorded, but replaying it is refused: "
                                     "an event cannot happen in the future")


def test_replay_stops_at_the_most_differences_asked_for(services: Services, published: str,
                                                       clock: FixedClock) -> None:
    _history(services, clock)
    with services.db.write() as conn:  # two answers rewritten: p-2 (#6) and v-1 (#7)
        for event_id, before, after in (("p-2", '"points":617', '"points":618'),
                                        ("v-1", '"points":100', '"points":101')):
            row = conn.execute(t.events.select().where(t.events.c.event_id == event_id)).first()
            conn.execute(update(t.events).where(t.events.c.event_id == event_id).values(
                result=row.result.replace(before, after)))
    report = ReplayCheck(services).run("market", max_differences=1)
    assert [d.split(":")[0] for d in report.differences] == ["event 'p-2' (#6, purchase)"]
    assert report.events == 6  # judged up to the first difference, not the rest of its batch
    everything = ReplayCheck(services).run("market")
    assert [d.split(":")[0] for d in everything.differences[:2]] == ["event 'p-2' (#6, purchase)",
                                                                     "event 'v-1' (#7, review)"]
    assert everything.events == 9
