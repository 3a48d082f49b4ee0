"""What a purchase of the example program writes: one ledger transaction and one log entry
for the buyer, however many rules pay it, with a pair of postings per rule naming it. (A
challenge's completion reward is an earn of its own, once per completion: two purchases a
member here, short of the example's three-a-month challenge.)"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from dangol.domain import FixedClock, Money
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.storage import tables as t

MEMBERS = 20


def _counts(services: Services) -> tuple[int, int, int]:
    with services.db.read() as conn:
        return tuple(conn.execute(select(func.count()).select_from(table)).scalar_one()  # type: ignore[return-value]
                     for table in (t.transactions, t.log_entries, t.lots))


def test_a_purchase_is_one_ledger_transaction_and_one_log_entry(services: Services, published: str,
                                                                clock: FixedClock) -> None:
    services.events.record_many("market", [
        EventInput(f"s-{n}", "signup", member_id=f"m_{n}", external_ref=f"c-{n}") for n in range(MEMBERS)])
    clock.set(datetime(2025, 3, 4, 3, tzinfo=timezone.utc))  # the launch week: more rules pay
    before = _counts(services)
    purchases = [EventInput(f"p-{n}-{k}", "purchase", f"m_{n}", amount=Money(10_000 + 1_000 * k, "KRW"),
                            order_id=f"o-{n}-{k}") for k in range(2) for n in range(MEMBERS)]
    results = services.events.record_many("market", purchases)
    transactions, entries, lots = (after - earlier for after, earlier in zip(_counts(services), before))
    assert transactions <= len(purchases) and entries <= len(purchases) and lots <= len(purchases)
    # Each purchase was paid by several rules (base, first purchase, launch week), all in its one transaction.
    for result in results:
        assert isinstance(result, dict)
        rules = [p["rule_id"] for p in result["effects"]["points"]]
        assert len(rules) >= 2 and len({p["transaction"]["id"] for p in result["effects"]["points"]}) == 1
        [earn] = {p["transaction"]["id"]: p["transaction"] for p in result["effects"]["points"]}.values()
        assert [p["rule_id"] for p in earn["postings"]] == [rule for rule in rules for _ in (1, 2)]
        assert earn["points"] == result["total_points"]
