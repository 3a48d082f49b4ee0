"""The member as the rules see them (`rules.MemberState`), from the ledger's member row, the
profile and the member's counters; and the counters an event changes.

Counter keys (member scope, beside the evaluator's own cap keys `member/<rule>/…`):
`stats/purchases/total`, `stats/purchases/month/<YYYY-MM>` and `stats/spend/quarter/<YYYY-Qn>`
(calendar periods of the member's time zone), `stats/signups`, and per order
`order/<id>/spend`, `order/<id>/refunded`, `order/<id>/points`, `order/<id>/quarter`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from ..rules import MemberState, OrderFacts
from ..storage.facts_repository import Profile

PURCHASES_TOTAL = "stats/purchases/total"
SIGNUPS = "stats/signups"


def local(at: datetime, time_zone: str) -> datetime:
    return at.astimezone(ZoneInfo(time_zone))


@lru_cache(maxsize=4096)
def _year_month(at: datetime, time_zone: str) -> tuple[int, int]:
    """Cached: judging one event asks for its month and quarter half a dozen times (the
    batch's preload, the member's state, the counts it makes)."""
    moment = local(at, time_zone)
    return moment.year, moment.month


def month_key(at: datetime, time_zone: str) -> str:
    year, month = _year_month(at, time_zone)
    return f"stats/purchases/month/{year}-{month:02d}"


def quarter_of(at: datetime, time_zone: str) -> str:
    year, month = _year_month(at, time_zone)
    return f"{year}-Q{(month - 1) // 3 + 1}"


def spend_key(quarter: str) -> str:
    return f"stats/spend/quarter/{quarter}"


def order_key(order_id: str, what: str) -> str:
    return f"order/{order_id}/{what}"


def member_state(member_id: str, enrolled_at: datetime, profile: Profile, time_zone: str, tier: str | None,
                 counters: Mapping[str, int], at: datetime, is_purchase: bool) -> MemberState:
    """The member before the event at `at`: counts exclude it; `first_purchase` says that
    this event (a purchase) is the member's first."""
    total = counters.get(PURCHASES_TOTAL, 0)
    return MemberState(
        member_id=member_id, enrolled_at=enrolled_at, time_zone=time_zone, tier=tier, tags=profile.tags,
        purchases_this_month=counters.get(month_key(at, time_zone), 0), purchases_total=total,
        spend_this_quarter=counters.get(spend_key(quarter_of(at, time_zone)), 0),
        first_purchase=is_purchase and total == 0,
        birthday_month=profile.birthday_month, birthday_day=profile.birthday_day)


def purchase_counts(order_id: str | None, amount: int, points: int, at: datetime, time_zone: str) -> dict[str, int]:
    quarter = quarter_of(at, time_zone)
    counts = {PURCHASES_TOTAL: 1, month_key(at, time_zone): 1, spend_key(quarter): amount}
    if order_id is not None:
        year, q = quarter.split("-Q")
        counts |= {order_key(order_id, "spend"): amount, order_key(order_id, "points"): points,
                   order_key(order_id, "quarter"): int(year) * 10 + int(q)}
    return counts


def quarter_from_number(number: int) -> str:
    return f"{number // 10}-Q{number % 10}"


def order_facts(order_id: str | None, counters: Mapping[str, int], exists: bool) -> OrderFacts:
    """The order an event names, from the member's order counters (this member's purchases of
    it) and whether any purchase of it was recorded in the program (`exists`). An order the
    member bought always has a quarter; it is fully refunded when its refunds reach its spend."""
    if order_id is None:
        return OrderFacts()
    spend = counters.get(order_key(order_id, "spend"), 0)
    mine = counters.get(order_key(order_id, "quarter"), 0) > 0
    refunded = mine and spend > 0 and counters.get(order_key(order_id, "refunded"), 0) >= spend
    return OrderFacts(exists=exists or mine, mine=mine, refunded=refunded, amount=spend if mine else 0)
