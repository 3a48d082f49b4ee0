"""EngagementSession: the events of one transaction on the members' state in memory,
written at flush, the rewards' points through the caller's `earn`.

The member's March in the example program (see test_service.py): the first purchase gives
coupon design-10 (1 per member) and badge first-order; design-quarter completes at 50,000
KRW of design (badge design-patron, a design-10 coupon); three-this-month at the 3rd
purchase of a month (500 points, badge regular)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from itertools import count
from typing import Any

import pytest
from sqlalchemy import Connection, event, select

from dangol.domain.commands import Earn
from dangol.rules import Event, MemberState, evaluate
from dangol.service.container import Services
from dangol.service.engagement import EngagementSession
from dangol.service.ledger import Operation
from dangol.storage import tables as t

from .support import KST, MARKET, enrol, purchase

MARCH_3, MARCH_10, MARCH_17 = (datetime(2025, 3, day, 10, tzinfo=KST) for day in (3, 10, 17))


@pytest.fixture
def codes(services: Services) -> None:
    """Coupon codes C1, C2, ... in issue order."""
    numbers = count(1)
    services.engagement.codes = lambda: f"C{next(numbers)}"


def judged(member_id: str, body: dict[str, Any], at: datetime, first_purchase: bool = False) -> tuple[Any, ...]:
    """What the session's `apply` takes after the member id: the event, its evaluation, its time."""
    amount = body["amount"]["amount"]
    categories = tuple(sorted({i["category"] for i in body["items"]}))
    rule_event = Event(body["type"], amount, "KRW", body["order_id"], categories)
    state = MemberState(member_id, datetime(2025, 1, 1, tzinfo=KST), "Asia/Seoul", first_purchase=first_purchase)
    return body, evaluate(MARKET, rule_event, state, {}, at), at


def march(member_id: str) -> list[tuple[Any, ...]]:
    """Three purchases; the 2nd is judged a first purchase again (a rule firing twice)."""
    return [judged(member_id, purchase(30_000, [("design", 30_000)], "o1"), MARCH_3, first_purchase=True),
            judged(member_id, purchase(25_000, [("design", 25_000)], "o2"), MARCH_10, first_purchase=True),
            judged(member_id, purchase(5_000, order="o3"), MARCH_17)]


class Earns:
    """An `earn` that keeps what it was given, as the events service's ledger session will."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def __call__(self, operation: Operation) -> dict[str, Any]:
        self.operations.append(operation)
        return {"transaction": {"id": f"T{len(self.operations)}"}, "log": [{"seq": len(self.operations)}]}


@contextmanager
def statements(conn: Connection) -> Iterator[list[str]]:
    """The SQL `conn` runs inside the block."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen.append(sql.split(None, 1)[0].upper())

    event.listen(conn, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", note)


def stored(conn: Connection, member_id: str) -> dict[str, Any]:
    coupons, badges, progress = t.engagement_coupons, t.engagement_badges, t.engagement_progress
    return {
        "coupons": conn.execute(select(coupons.c.code, coupons.c.template).where(coupons.c.member_id == member_id)
                                .order_by(coupons.c.code)).all(),
        "badges": sorted(conn.execute(select(badges.c.badge).where(badges.c.member_id == member_id)).scalars()),
        "progress": conn.execute(select(progress.c.challenge, progress.c.period, progress.c.value,
                                        progress.c.streak, progress.c.completions)
                                 .where(progress.c.member_id == member_id).order_by(progress.c.challenge)).all(),
    }


NOTHING: dict[str, list[Any]] = {"coupons": [], "badges": [], "progress": []}
MARCH_ROWS = {
    "coupons": [("C1", "design-10")],
    "badges": ["design-patron", "first-order", "regular"],
    "progress": [("design-quarter", "2025-Q1", 55_000, 0, 1), ("three-this-month", "2025-03", 3, 0, 1),
                 ("weekly-streak", "streak", 1, 3, 0)],  # weeks 10, 11, 12
}


def test_events_of_one_member_see_each_other_before_the_flush(services: Services, program_id: str,
                                                              codes: None) -> None:
    m = enrol(services, program_id, "customer-1")
    earns = Earns()
    with services.db.write() as conn:
        session = EngagementSession(services.engagement, conn, program_id, write=True, earn=earns)
        session.preload([m], MARKET)
        with statements(conn) as sql:
            first, second, third = (session.apply(m, *item, MARKET) for item in march(m))
        assert sql == []  # preloaded: the events read and write memory only

        assert [c["code"] for c in first["coupons"]] == ["C1"] and [b["badge"] for b in first["badges"]] == ["first-order"]
        # The 2nd sees the 1st's badge and coupon: no second first-order, design-10 withheld
        # twice (the rule's and design-quarter's reward), and design-quarter's progress goes on.
        assert [b["badge"] for b in second["badges"]] == ["design-patron"]
        assert second["coupons"] == [] and len(second["withheld"]) == 2
        design = next(c for c in second["challenges"] if c["challenge"] == "design-quarter")
        assert (design["progress"], design["completed"]) == (55_000, True)
        # The 3rd is the month's 3rd purchase: 500 points through `earn`, badge regular.
        three = next(c for c in third["challenges"] if c["challenge"] == "three-this-month")
        assert (three["progress"], three["completed"], three["rewards"]["badge"]) == (3, True, "regular")
        assert third["points"] == [{"rule_id": "challenge:three-this-month", "points": 500, "member_id": m,
                                    "to": "member", "transaction": {"id": "T1"}, "log": [{"seq": 1}]}]

        assert stored(conn, m) == NOTHING
        session.flush()
        assert stored(conn, m) == MARCH_ROWS
        with statements(conn) as sql:
            session.flush()
        assert sql == []  # flushed once: nothing more to write
    with services.db.read() as conn:
        assert stored(conn, m) == MARCH_ROWS
    assert [b["badge"] for b in services.engagement.badges(program_id, m)] == ["first-order", "design-patron", "regular"]


def test_the_reward_goes_through_earn_with_the_challenge_key(services: Services, program_id: str,
                                                            codes: None) -> None:
    m = enrol(services, program_id, "customer-2")
    earns = Earns()
    with services.db.write() as conn:
        session = EngagementSession(services.engagement, conn, program_id, write=True, earn=earns)
        for item in march(m):
            session.apply(m, *item, MARKET)
        session.flush()
    [operation] = earns.operations
    assert operation.idempotency_key == f"challenge:three-this-month:{m}:2025-03#1" and operation.at == MARCH_17
    assert isinstance(operation.command, Earn)
    assert (operation.command.member_id, operation.command.points, operation.command.rule_id) == (
        m, 500, "challenge:three-this-month")
    # `earn` applied it, not the ledger behind the caller's back.
    assert services.reader.balance(program_id, m)["available"] == 0
    with services.db.read() as conn:
        assert conn.execute(select(t.transactions).where(t.transactions.c.member_id == m,
                                                         t.transactions.c.kind == "earn")).all() == []


def test_without_earn_the_reward_is_applied_in_the_ledger(services: Services, program_id: str, codes: None) -> None:
    m = enrol(services, program_id, "customer-3")
    with services.db.write() as conn:
        session = EngagementSession(services.engagement, conn, program_id, write=True)
        third = [session.apply(m, *item, MARKET) for item in march(m)][-1]
        session.flush()
    assert third["points"][0]["transaction"]["points"] == 500
    assert services.reader.balance(program_id, m)["available"] == 500


def test_a_quote_writes_nothing_and_earns_nothing(services: Services, program_id: str, codes: None) -> None:
    m = enrol(services, program_id, "customer-4")
    earns = Earns()
    with services.db.write() as conn:
        session = EngagementSession(services.engagement, conn, program_id, write=False, earn=earns)
        session.preload([m], MARKET)
        first, second, third = (session.apply(m, *item, MARKET) for item in march(m))
        with statements(conn) as sql:
            session.flush()
        assert sql == [] and stored(conn, m) == NOTHING
    # What would happen, event after event, as with write=True; coupons without a code,
    # rewards without a transaction, and `earn` never called.
    assert [(c["code"], c["template"]) for c in first["coupons"]] == [(None, "design-10")]
    assert [b["badge"] for b in second["badges"]] == ["design-patron"] and second["coupons"] == []
    assert [(p["points"], p["transaction"]) for p in third["points"]] == [(500, None)]
    assert earns.operations == []
    with services.db.read() as conn:
        assert stored(conn, m) == NOTHING


def test_a_member_not_preloaded_is_read_on_first_need(services: Services, program_id: str, codes: None) -> None:
    m = enrol(services, program_id, "customer-5")  # Asia/Seoul
    first, second, third = march(m)
    with services.db.write() as conn:  # the 1st purchase, committed
        session = EngagementSession(services.engagement, conn, program_id, write=True, earn=Earns())
        session.apply(m, *first, MARKET)
        session.flush()
    with services.db.write() as conn:
        session = EngagementSession(services.engagement, conn, program_id, write=True, earn=Earns())
        with statements(conn) as sql:
            effects = session.apply(m, *second, MARKET)
        # Progress, time zone, coupons issued, badges: one query each, all reads.
        assert sql == ["SELECT"] * 4
        assert [b["badge"] for b in effects["badges"]] == ["design-patron"] and effects["coupons"] == []
        assert next(c for c in effects["challenges"] if c["challenge"] == "design-quarter")["progress"] == 55_000
        with statements(conn) as sql:
            session.apply(m, *third, MARKET)
        assert sql == []  # read once
        # 1 April 2025, 08:00 in Seoul, still 31 March in UTC: the stored time zone counts.
        april = session.apply(m, *judged(m, purchase(1_000, order="o4"), datetime(2025, 3, 31, 23, tzinfo=timezone.utc)),
                              MARKET)
        assert next(c for c in april["challenges"] if c["challenge"] == "three-this-month")["period"] == "2025-04"
        session.flush()
        assert stored(conn, m)["badges"] == MARCH_ROWS["badges"]


def test_preloading_many_members(services: Services, program_id: str, codes: None) -> None:
    m = enrol(services, program_id, "customer-6")
    first, second, third = march(m)
    with services.db.write() as conn:
        session = EngagementSession(services.engagement, conn, program_id, write=True, earn=Earns())
        session.apply(m, *first, MARKET)
        session.flush()
    with services.db.write() as conn:
        session = EngagementSession(services.engagement, conn, program_id, write=True, earn=Earns())
        session.preload([f"nobody-{n}" for n in range(1_200)] + [m], MARKET)  # longer than one IN list
        with statements(conn) as sql:
            effects = session.apply(m, *second, MARKET)
        assert sql == [] and [b["badge"] for b in effects["badges"]] == ["design-patron"]


def test_a_flush_then_more_events_updates_the_rows(services: Services, program_id: str, codes: None) -> None:
    m = enrol(services, program_id, "customer-7")
    first, second, third = march(m)
    with services.db.write() as conn:
        session = EngagementSession(services.engagement, conn, program_id, write=True, earn=Earns())
        session.preload([m], MARKET)
        session.apply(m, *first, MARKET)
        session.flush()
        session.apply(m, *second, MARKET)
        session.apply(m, *third, MARKET)
        session.flush()
        assert stored(conn, m) == MARCH_ROWS
