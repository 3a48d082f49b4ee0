"""Business events through the example rules, on SQLite and PostgreSQL: random purchases,
partial and full refunds, redemptions and the clock moving on (tiers, challenges, the launch
week), then `replay --check` makes the same ledger again, `dangol check`'s books balance,
and every event's points for a member are one transaction whose postings name its rules.
DANGOL_EVENT_EXAMPLES raises the number of examples (12 by default, to keep the suite fast)."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone
from importlib import resources

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangol.domain import FixedClock, Money
from dangol.domain import commands as cmd
from dangol.domain.errors import DomainError
from dangol.engagement import Item
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.service.replay import ReplayCheck

from conftest import EXAMPLE_POLICY

MARKET = (resources.files("dangol.rules") / "examples" / "market.yaml").read_text(encoding="utf-8")
MEMBERS = 3
START = datetime(2025, 3, 2, 3, tzinfo=timezone.utc)  # the launch week is 3-9 March

steps = st.lists(st.one_of(
    st.tuples(st.just("purchase"), st.integers(0, MEMBERS - 1), st.integers(1, 60).map(lambda k: k * 1_000),
              st.sampled_from(((), ("design",), ("video", "design")))),
    st.tuples(st.just("refund"), st.integers(0, MEMBERS - 1), st.integers(0, 5), st.sampled_from((None, 1, 2))),
    st.tuples(st.just("redeem"), st.integers(0, MEMBERS - 1), st.integers(1, 30).map(lambda k: k * 100)),
    st.tuples(st.just("advance"), st.integers(1, 20 * 24)),  # hours
), min_size=1, max_size=25)


@settings(max_examples=int(os.environ.get("DANGOL_EVENT_EXAMPLES", "12")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_any_events_replay_clean_and_are_one_transaction_per_member(services: Services, clock: FixedClock,
                                                                   steps: list[tuple]) -> None:
    program = f"p-{uuid.uuid4().hex[:12]}"
    clock.set(START - timedelta(days=30))
    services.programs.create_program(program, "Property", "KRW", EXAMPLE_POLICY)
    services.rulesets.set_policy(program, 0, "Asia/Seoul")
    services.rulesets.publish(program, MARKET.replace("program: market", f"program: {program}", 1))
    clock.set(START)
    members = [services.events.record(program, EventInput(f"s-{n}", "signup", external_ref=f"c-{n}"))["member_id"]
               for n in range(MEMBERS)]
    orders: list[tuple[str, str, int]] = []  # (member, order, amount)
    results = []
    for index, step in enumerate(steps):
        clock.advance(seconds=1)
        kind = step[0]
        try:
            if kind == "purchase":
                _, who, amount, categories = step
                order = f"o-{index}"
                results.append(services.events.record(program, EventInput(
                    f"e-{index}", "purchase", members[who], amount=Money(amount, "KRW"), order_id=order,
                    items=tuple(Item(c, amount // len(categories)) for c in categories))))
                orders.append((members[who], order, amount))
            elif kind == "refund" and orders:
                _, _, pick, share = step
                member, order, amount = orders[pick % len(orders)]
                refund = None if share is None else Money(amount * share // 4, "KRW")
                results.append(services.events.record(program, EventInput(
                    f"e-{index}", "refund", member, amount=refund, order_id=order)))
            elif kind == "redeem":
                services.ledger.run(program, cmd.Redeem(members[step[1]], step[2]), f"redeem-{index}")
            elif kind == "advance":
                clock.advance(hours=step[1])
        except DomainError:
            pass  # refused (not enough points, refunded already, ...): nothing written
    assert results or not any(step[0] == "purchase" for step in steps)  # a purchase is never refused here
    for result in results:
        paid: dict[str, set[int]] = {}
        for award in result["effects"]["points"]:
            if not award["rule_id"].startswith("challenge:"):  # a completion reward is its own earn
                paid.setdefault(award["member_id"], set()).add(award["transaction"]["id"])
        assert all(len(ids) == 1 for ids in paid.values()), result["effects"]["points"]
    assert services.check.run().ok
    report = ReplayCheck(services).run(program)
    assert report.ok, report.differences
    assert report.transactions == sum(report.causes.values())
