"""The qualifying metric is read from the ledger's transactions on every tier check after
an event and for every batch of a recalculation: through the member index, never a scan
of the transactions table (which a tiny test database would not show in timings)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dangol.domain import FixedClock, Money
from dangol.domain.commands import Earn, Enroll
from dangol.rules.loader import load_example
from dangol.service.container import Services
from tests.service.test_read_indexes import query_plan, scans, statements_reading

KST = timezone(timedelta(hours=9))


def test_the_metric_is_read_through_the_member_index(services: Services, program_id: str,
                                                     clock: FixedClock) -> None:
    services.tiers.use_ladder(program_id, load_example().tiers)
    clock.set(datetime(2025, 5, 1, tzinfo=KST))
    members = [services.ledger.run(program_id, Enroll(f"c{i}"))["member"]["id"] for i in range(3)]
    for member in members:
        services.ledger.run(program_id, Earn(member, money=Money(10_000, "KRW"), order_ref="o"))
    with statements_reading(services.db, "transactions") as one:
        services.tiers.member_view(program_id, members[0])
    with statements_reading(services.db, "transactions") as batch:
        services.tiers.recalculate(program_id)  # the whole program, a batch of members at a time
    assert len(one) == 1 and len(batch) == 1
    for statement in (*one, *batch):
        plan = query_plan(services.db, statement)
        assert not scans(plan, "transactions"), plan
        assert "ix_transactions_member_id_id" in plan, plan
