"""A write that waits for its member (PostgreSQL: another transaction holds the row) happens
when it gets them, not when it started waiting: a redemption queued behind a purchase can
spend the points the purchase earned, as the balance the member was just shown says.
SQLite writes one transaction at a time: nothing commits while a write waits."""

from __future__ import annotations

from typing import Any

import pytest

from dangol.domain import FixedClock
from dangol.domain.commands import Earn, Redeem
from dangol.service.container import Services

from .racing import paused
from .test_concurrent_writes import member_with

pytestmark = pytest.mark.timeout(120)


def locks_the_member(statement: str) -> bool:
    return "FROM members" in statement and statement.endswith("FOR UPDATE")


def test_a_redemption_that_waited_spends_what_was_earned_meanwhile(shared_on_postgres: Services,
                                                                   clock: FixedClock) -> None:
    market = shared_on_postgres
    member = member_with(market, 0)

    def earn_a_second_later() -> dict[str, Any]:
        clock.advance(seconds=1)
        return market.ledger.run("market", Earn(member, points=1_000), idempotency_key="order-1/earn")

    earned, redeemed = paused(market, lambda: market.ledger.run("market", Redeem(member, 1_000),
                                                                idempotency_key="till-1/sale-1"),
                              locks_the_member, earn_a_second_later)
    assert earned["balance"]["available"] == 1_000
    assert isinstance(redeemed, dict), redeemed
    assert redeemed["balance"]["available"] == 0
    assert market.reader.balance("market", member)["available"] == 0
