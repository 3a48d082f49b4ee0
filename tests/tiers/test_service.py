"""TierService on SQLite and PostgreSQL, on the example ladder (market.yaml): 새싹 0, 열매
300,000, 나무 600,000, 숲 1,000,000 KRW per calendar quarter in Asia/Seoul, 14 days of
grace. Purchases are ledger earns carrying money; refunds are reversals. Until the events
pipeline calls `after_activity`, the tests call it right after each earn, as it will."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from dangol.domain import FixedClock, Money
from dangol.domain.commands import Earn, Enroll, Reverse
from dangol.domain.errors import InvalidRequest, UnknownMember
from dangol.rules import Event, MemberState, evaluate
from dangol.rules.loader import load_example
from dangol.service.container import Services
from dangol.service.tiers import NoTierLadder
from dangol.storage import tables
from dangol.tiers import Ladder, Tier, WindowKind

KST = timezone(timedelta(hours=9))
LADDER = load_example().tiers


@pytest.fixture
def market(services: Services, program_id: str) -> Services:
    services.tiers.use_ladder(program_id, LADDER)
    return services


@pytest.fixture
def member(market: Services, clock: FixedClock) -> str:
    clock.set(datetime(2025, 3, 1, tzinfo=KST))
    return str(market.ledger.run("market", Enroll("alice"))["member"]["id"])


Buy = Callable[..., list[dict[str, object]]]


@pytest.fixture
def buy(market: Services, clock: FixedClock) -> Buy:
    """A purchase at `when` (KST), then the tier check the events pipeline will make."""

    def buy(member: str, when: datetime, amount: int, order: str) -> list[dict[str, object]]:
        clock.set(when)
        market.ledger.run("market", Earn(member, money=Money(amount, "KRW"), order_ref=order))
        with market.db.write() as conn:
            return market.tiers.after_activity(conn, "market", [member], clock.now())

    return buy


def moves(changes: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(c["from"], c["to"], c["reason"], c["metric"]["value"]) for c in changes]  # type: ignore[index]


def history_rows(services: Services) -> int:
    with services.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(tables.tier_history)).scalar_one())


def test_crossing_열매_then_나무_in_a_quarter_upgrades_at_once(market: Services, member: str, buy: Buy,
                                                          clock: FixedClock) -> None:
    # 10 April 200,000: Q2 so far 200,000, below 열매 (300,000): no change.
    assert buy(member, datetime(2025, 4, 10, tzinfo=KST), 200_000, "o1") == []
    # 2 May 150,000: 350,000 >= 300,000: 열매 at once.
    assert moves(buy(member, datetime(2025, 5, 2, tzinfo=KST), 150_000, "o2")) == [("새싹", "열매", "upgrade", 350_000)]
    # 20 May 300,000: 650,000 >= 600,000: 나무 at once.
    assert moves(buy(member, datetime(2025, 5, 20, tzinfo=KST), 300_000, "o3")) == [("열매", "나무", "upgrade", 650_000)]
    clock.set(datetime(2025, 6, 1, tzinfo=KST))
    view = market.tiers.member_view("market", member)
    assert view["tier"]["name"] == "나무" and view["tier"]["benefits"]["earn_bonus"] == {"points": 2, "per": 100}
    assert view["metric"] == {"name": "spend", "value": 650_000}
    assert (view["next_tier"]["name"], view["remaining"]) == ("숲", 350_000)  # 1,000,000 - 650,000
    assert view["since"] == "2025-05-19T15:00:00Z"  # 20 May 00:00 KST
    # Q2 ends 1 July 00:00 KST; the quarter so far qualifies for 나무, so nothing drops.
    assert (view["window"]["end"], view["review_at"], view["drops_at"]) == (
        "2025-06-30T15:00:00Z", "2025-06-30T15:00:00Z", None)
    assert [(h["from"], h["to"]) for h in market.tiers.history("market", member).items] == [
        ("열매", "나무"), ("새싹", "열매")]
    with market.db.read() as conn:
        assert market.tiers.member_tiers(conn, "market", [member, "m_nobody"], clock.now()) == {
            member: "나무", "m_nobody": "새싹"}


def test_나무_is_kept_until_the_quarter_ends_plus_grace_then_follows_the_finished_quarter(
        market: Services, member: str, buy: Buy, clock: FixedClock) -> None:
    # Q1: 650,000 on 10 March: 나무. Q2: only 350,000 (열매's range, 300,000-599,999).
    buy(member, datetime(2025, 3, 10, tzinfo=KST), 650_000, "o1")
    buy(member, datetime(2025, 5, 5, tzinfo=KST), 350_000, "o2")
    clock.set(datetime(2025, 6, 30, 12, tzinfo=KST))
    assert market.tiers.recalculate("market").changes == 0  # Q1 confirmed 나무 for Q2
    view = market.tiers.member_view("market", member)
    assert (view["tier"]["name"], view["qualifies_for"]) == ("나무", "열매")
    assert view["drops_at"] == "2025-07-14T15:00:00Z"  # 1 July 00:00 KST + 14 days
    # 5 July: Q2 has ended short of 나무: the grace is recorded, 나무 is kept.
    clock.set(datetime(2025, 7, 5, tzinfo=KST))
    report = market.tiers.recalculate("market")
    assert (report.changes, report.by_reason["grace"]) == (1, 1)
    assert market.tiers.member_view("market", member)["grace_until"] == "2025-07-14T15:00:00Z"
    # 15 July 00:00 KST: the grace is over: 열매, what Q2's 350,000 qualifies for. The tier
    # the rules see is already 열매 before the job writes it down.
    clock.set(datetime(2025, 7, 15, tzinfo=KST))
    with market.db.read() as conn:
        assert market.tiers.member_tiers(conn, "market", [member], clock.now()) == {member: "열매"}
    report = market.tiers.recalculate("market")
    assert report.as_json()["downgrades"] == 1
    assert [(h["from"], h["to"], h["reason"], h["metric"]) for h in market.tiers.history("market", member).items] == [
        ("나무", "열매", "downgrade", 350_000), ("나무", "나무", "grace", 350_000), ("새싹", "나무", "upgrade", 650_000)]
    assert market.tiers.member_view("market", member)["tier"]["name"] == "열매"


def test_recalculating_twice_for_the_same_instant_changes_nothing(
        market: Services, member: str, buy: Buy, clock: FixedClock) -> None:
    buy(member, datetime(2025, 5, 5, tzinfo=KST), 1_200_000, "o1")
    clock.set(datetime(2025, 10, 5, tzinfo=KST))  # Q3 spent nothing: grace from 1 October
    first = market.tiers.recalculate("market")
    rows = history_rows(market)
    with market.db.read() as conn:
        standings = list(conn.execute(select(tables.member_tiers)))
    second = market.tiers.recalculate("market")
    assert (first.changes, second.changes, second.members) == (1, 0, 1)
    assert history_rows(market) == rows
    with market.db.read() as conn:
        assert list(conn.execute(select(tables.member_tiers))) == standings


def test_a_refund_lowers_the_metric_and_the_tier_that_follows(
        market: Services, member: str, buy: Buy, clock: FixedClock) -> None:
    # 5 May 650,000: 나무 at once. 20 May 200,000 of it refunded: Q2 is 450,000 (열매), but
    # downgrades wait for the quarter's end and the grace: 나무 until 15 July, then 열매.
    assert moves(buy(member, datetime(2025, 5, 5, tzinfo=KST), 650_000, "o1")) == [("새싹", "나무", "upgrade", 650_000)]
    clock.set(datetime(2025, 5, 20, tzinfo=KST))
    market.ledger.run("market", Reverse(member, "o1", Money(200_000, "KRW")))
    with market.db.write() as conn:
        assert market.tiers.after_activity(conn, "market", [member], clock.now()) == []
    view = market.tiers.member_view("market", member)
    assert (view["tier"]["name"], view["metric"]["value"], view["qualifies_for"]) == ("나무", 450_000, "열매")
    clock.set(datetime(2025, 7, 15, tzinfo=KST))
    market.tiers.recalculate("market")
    assert market.tiers.history("market", member).items[0]["to"] == "열매"
    assert market.tiers.history("market", member).items[0]["metric"] == 450_000


def test_an_interrupted_recalculation_resumes_after_its_last_batch(
        market: Services, clock: FixedClock) -> None:
    clock.set(datetime(2025, 5, 1, tzinfo=KST))
    members = [str(market.ledger.run("market", Enroll(f"c{i}"))["member"]["id"]) for i in range(5)]
    for i, member in enumerate(members):  # 0, 350,000, 700,000, ...: 새싹, 열매, 나무, 숲, 숲
        market.ledger.run("market", Earn(member, money=Money(350_000 * i, "KRW"), order_ref="o")) if i else None
    clock.set(datetime(2025, 5, 10, tzinfo=KST))
    market.tiers.batch_size = 2
    seen: list[tuple[int, int]] = []

    def crash_after_first_batch(done: int, total: int) -> None:
        seen.append((done, total))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        market.tiers.recalculate("market", progress=crash_after_first_batch)
    clock.set(datetime(2025, 5, 11, tzinfo=KST))  # later: without `at`, the run of 10 May is resumed
    resumed = market.tiers.recalculate("market", progress=lambda done, total: seen.append((done, total)))
    assert resumed.resumed and resumed.members == 3 and resumed.at == datetime(2025, 5, 10, tzinfo=KST)
    assert seen == [(2, 5), (4, 5), (5, 5)]
    with market.db.read() as conn:
        tiers = market.tiers.member_tiers(conn, "market", members, clock.now())
    assert [tiers[m] for m in members] == ["새싹", "열매", "나무", "숲", "숲"]
    assert history_rows(market) == 4  # one upgrade each for the four who qualified, none twice


def test_refusals(market: Services, member: str, clock: FixedClock) -> None:
    with pytest.raises(UnknownMember):
        market.tiers.member_view("market", "m_nobody")
    market.tiers.use_ladder("market", None)
    with pytest.raises(NoTierLadder):
        market.tiers.member_view("market", member)
    with pytest.raises(NoTierLadder):
        market.tiers.recalculate("market")


def test_an_operator_sets_a_tier_by_hand(market: Services, member: str, clock: FixedClock) -> None:
    clock.set(datetime(2025, 5, 10, tzinfo=KST))
    assert moves(market.tiers.set_tier("market", member, "숲")) == [("새싹", "숲", "manual", 0)]
    assert market.tiers.set_tier("market", member, "숲") == []  # already so: nothing recorded
    view = market.tiers.member_view("market", member)
    # Nothing spent in Q2: 숲 is held to the quarter's end plus 14 days, 15 July 00:00 KST.
    assert (view["tier"]["name"], view["drops_at"]) == ("숲", "2025-07-14T15:00:00Z")
    with pytest.raises(InvalidRequest, match="no tier 'gold'"):
        market.tiers.set_tier("market", member, "gold")
    assert len(market.tiers.history("market", member).items) == 1


def test_the_rules_see_the_tier_and_its_bonus(market: Services, member: str, buy: Buy, clock: FixedClock) -> None:
    # 나무 after 650,000 on 5 May; a 100,000 KRW purchase on 1 June then earns base-earn
    # 5,000 (5%) + tier:나무 2,000 (2%) = 7,000 points (no launch week, < 3 purchases).
    buy(member, datetime(2025, 5, 5, tzinfo=KST), 650_000, "o1")
    clock.set(datetime(2025, 6, 1, tzinfo=KST))
    with market.db.read() as conn:
        tier = market.tiers.member_tiers(conn, "market", [member], clock.now())[member]
    state = MemberState(member, datetime(2025, 3, 1, tzinfo=KST), "Asia/Seoul", tier=tier, purchases_total=1)
    result = evaluate(load_example(), Event("purchase", 100_000, "KRW", "o2"), state, {}, clock.now())
    assert {a.rule_id: a.points for a in result.points} == {"base-earn": 5_000, "tier:나무": 2_000}


def test_on_a_rolling_ladder_a_refund_leaving_the_window_upgrades_where_it_leaves(
        services: Services, program_id: str, clock: FixedClock) -> None:
    # The last 30 days; silver from 300,000. 1 January 200,000 (o1); 3 February 100,000 of
    # o1 refunded (o1 itself is out of the 30 days): -100,000. 10 February 350,000: 250,000,
    # bronze. 5 March, 30 days after the refund, it leaves the window: 350,000, silver then,
    # though nothing happens at that instant. The rules see silver on 6 March, and the
    # evaluation that writes it down dates the upgrade 5 March.
    services.tiers.use_ladder(program_id, Ladder((Tier("bronze", 0), Tier("silver", 300_000)),
                                                 window=WindowKind.ROLLING, rolling_days=30))
    clock.set(datetime(2024, 12, 1, tzinfo=KST))
    member = str(services.ledger.run("market", Enroll("alice"))["member"]["id"])
    for day, command in [((1, 1), Earn(member, money=Money(200_000, "KRW"), order_ref="o1")),
                         ((2, 3), Reverse(member, "o1", Money(100_000, "KRW"))),
                         ((2, 10), Earn(member, money=Money(350_000, "KRW"), order_ref="o2"))]:
        clock.set(datetime(2025, *day, tzinfo=KST))
        services.ledger.run("market", command)
        with services.db.write() as conn:
            assert services.tiers.after_activity(conn, "market", [member], clock.now()) == []
    clock.set(datetime(2025, 3, 5, tzinfo=KST) - timedelta(microseconds=1))
    with services.db.read() as conn:
        assert services.tiers.member_tiers(conn, "market", [member], clock.now()) == {member: "bronze"}
    clock.set(datetime(2025, 3, 6, tzinfo=KST))
    with services.db.read() as conn:
        assert services.tiers.member_tiers(conn, "market", [member], clock.now()) == {member: "silver"}
    view = services.tiers.member_view("market", member)
    assert (view["tier"]["name"], view["metric"]["value"]) == ("silver", 350_000)
    assert services.tiers.recalculate("market").by_reason["upgrade"] == 1
    assert [(h["to"], h["metric"], h["at"]) for h in services.tiers.history("market", member).items] == [
        ("silver", 350_000, "2025-03-04T15:00:00Z")]  # 5 March 00:00 KST
