"""A campaign budget is never overspent, even by events judged at the same time: on
PostgreSQL the budget's counter row is locked by the first event until it commits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from dangol.domain import Money
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.storage import tables as t

BUDGETED = """
program: market
version: flash sale
effective_from: "2025-02-01T00:00:00Z"
currency: KRW
rules:
  - id: flash
    on: purchase
    actions:
      - award_points: {fixed: 300}
    budget: 1000
"""
BUYERS = 8


def test_concurrent_purchases_never_overspend_a_budget(services: Services, market: str) -> None:
    services.rulesets.publish(market, BUDGETED)
    members = [services.events.record(market, EventInput(f"s{n}", "signup", external_ref=f"c{n}"))["member_id"]
               for n in range(BUYERS)]

    def buy(n: int) -> int:
        result = services.events.record(market, EventInput(f"p{n}", "purchase", members[n], order_id=f"o{n}",
                                                           amount=Money(10000, "KRW")))
        return int(result["total_points"])

    with ThreadPoolExecutor(BUYERS) as pool:
        awarded = sorted(pool.map(buy, range(BUYERS)))
    # 300 + 300 + 300 + the last 100 of the budget; everyone else gets nothing.
    assert sum(awarded) == 1000
    assert awarded[-4:] == [100, 300, 300, 300]
    with services.db.read() as conn:
        issued = conn.execute(select(func.sum(t.transactions.c.points)).where(t.transactions.c.rule_id == "flash"))
        spent = conn.execute(select(t.program_counters.c.value).where(
            t.program_counters.c.key == "program/flash/budget/points"))
        assert issued.scalar() == 1000 and spent.scalar() == 1000


def test_the_same_event_sent_twice_at_once_is_recorded_once(services: Services, market: str) -> None:
    services.rulesets.publish(market, BUDGETED)
    member = services.events.record(market, EventInput("s", "signup", external_ref="c"))["member_id"]
    event = EventInput("p", "purchase", member, order_id="o", amount=Money(10000, "KRW"))
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: services.events.record(market, event), range(4)))
    assert all(answer == answers[0] for answer in answers)
    with services.db.read() as conn:
        earns = conn.execute(select(func.count()).select_from(t.transactions).where(
            t.transactions.c.rule_id == "flash")).scalar()
    assert earns == 1
