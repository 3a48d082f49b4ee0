"""`EventService.record_many` (the bulk path of `dangol events send`) gives what sending the
same events one by one gives: the same answers in the same places (errors included), and
the same ledger, counters and recorded events. Two databases of the same engine, the same
seeded stream of events with mistakes in it, one sent one by one, the other in batches."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from dangol.domain import FixedClock, Money
from dangol.domain.errors import DomainError
from dangol.service.container import Services
from dangol.service.events import EventInput, Item
from dangol.storage import tables as t

from conftest import EXAMPLE_POLICY, statements
from events.conftest import KST, MARKET

MEMBERS = [f"m{i}" for i in range(8)]
START = datetime(2025, 3, 1, 0, 0, tzinfo=timezone.utc)


def _prepare(services: Services, clock: FixedClock) -> None:
    clock.set(datetime(2025, 2, 1, tzinfo=timezone.utc))
    services.programs.create_program("market", "Talent market", "KRW", EXAMPLE_POLICY)
    services.rulesets.set_policy("market", 30, KST)
    services.rulesets.publish("market", MARKET)
    counter = itertools.count()
    services.ledger.member_ids = lambda: f"gen{next(counter)}"  # the same ids in both databases


def stream(seed: int, count: int) -> list[Callable[[Services], EventInput]]:
    """Events as functions of the database (a referral names the referrer's code there)."""
    rnd = random.Random(seed)
    made: list[Callable[[Services], EventInput]] = []
    orders: list[tuple[str, str, int]] = []
    at = START
    for n in range(count):
        at += timedelta(minutes=rnd.randrange(1, 600))
        when = at
        member = rnd.choice(MEMBERS)
        roll = rnd.random()
        event: Callable[[Services], EventInput]
        if n < len(MEMBERS) or roll < 0.1:  # sign-ups; again (no second welcome bonus); walk-ins by ref only
            member = MEMBERS[n] if n < len(MEMBERS) else member
            walk_in = n >= len(MEMBERS) and rnd.random() < 0.5
            event = (lambda e=f"e{n}", m=member, w=when, r=walk_in:  # type: ignore[misc]
                     lambda s: EventInput(e, "signup", None if r else m, external_ref=f"walk-in-{e}" if r else f"c-{m}",
                                          occurred_at=w))()
        elif roll < 0.6:
            amount = rnd.randrange(1, 3_000) * 100
            currency = "USD" if rnd.random() < 0.04 else "KRW"  # a mistake: the program counts in KRW
            who = "ghost" if rnd.random() < 0.04 else member  # a mistake: nobody
            order = f"o{n}"
            orders.append((who, order, amount))
            items = tuple(Item(c, amount) for c in rnd.sample(["design", "music", "code"], rnd.randrange(0, 3)))
            event = (lambda e=f"e{n}", m=who, w=when, o=order, a=amount, c=currency, i=items:  # type: ignore[misc]
                     lambda s: EventInput(e, "purchase", m, occurred_at=w, amount=Money(a, c), order_id=o, items=i))()
        elif roll < 0.72 and orders:
            who, order, amount = rnd.choice(orders)
            part = rnd.choice([None, amount // 3, amount * 2])  # the rest, a part, too much
            event = (lambda e=f"e{n}", m=who, w=when, o=order, p=part:  # type: ignore[misc]
                     lambda s: EventInput(e, "refund", m, occurred_at=w, order_id=o,
                                          amount=None if p is None else Money(p, "KRW")))()
        elif roll < 0.82:
            order = rnd.choice(orders)[1] if orders and rnd.random() < 0.8 else None
            event = (lambda e=f"e{n}", m=member, w=when, o=order:  # type: ignore[misc]
                     lambda s: EventInput(e, "review", m, occurred_at=w, order_id=o))()
        elif roll < 0.88:
            referrer = rnd.choice(MEMBERS)
            event = (lambda e=f"e{n}", m=member, w=when, r=referrer:  # type: ignore[misc]
                     lambda s: EventInput(e, "referral", m, occurred_at=w, referral_code=_code(s, r)))()
        elif made:
            earlier = rnd.randrange(len(made))
            if rnd.random() < 0.5:  # the same event again: the same answer
                event = made[earlier]
            else:  # the same id with another body: a conflict (or, if that id failed, a new event)
                event = (lambda f=made[earlier], w=when:  # type: ignore[misc]
                         lambda s: _other_body(f(s), w))()
        else:
            continue
        made.append(event)
    return made


def _code(services: Services, member_id: str) -> str:
    try:
        return services.referrals.code_for("market", member_id)["referral_code"]
    except DomainError:
        return "NO-SUCH-CODE"


def _other_body(event: EventInput, at: datetime) -> EventInput:
    return EventInput(event.event_id, "review", event.member_id or "m0", occurred_at=at, order_id="other")


def answer(outcome: dict[str, Any] | DomainError) -> Any:
    """An answer without what differs between two databases by design: ids the database
    hands out (transactions, lots; PostgreSQL sequences leave gaps), log receipts (each
    member's log key is random), referral and coupon codes (random)."""
    if isinstance(outcome, DomainError):
        return ("error", outcome.code, outcome.detail)
    return _strip(outcome)


def _strip(value: Any, key: str = "") -> Any:
    if key == "coupon" and isinstance(value, str):  # a coupon's code
        return "(code)"
    if isinstance(value, dict):
        return {k: _strip(v, k) for k, v in value.items()
                if k not in ("id", "log", "transaction_id", "lot_id", "recorded_at", "leaf_hash", "sequence", "code")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def state(services: Services) -> dict[str, Any]:
    """What the two databases must agree on after the stream."""
    with services.db.read() as conn:
        return {
            "members": sorted(conn.execute(select(t.members.c.id, t.members.c.external_ref, t.members.c.available,
                                                  t.members.c.pending, t.members.c.debt)).all()),
            "member_counters": sorted(conn.execute(select(t.member_counters.c.member_id, t.member_counters.c.key,
                                                          t.member_counters.c.value)).all()),
            "program_counters": sorted(conn.execute(select(t.program_counters.c.key,
                                                           t.program_counters.c.value)).all()),
            "events": conn.execute(select(t.events.c.event_id, t.events.c.type, t.events.c.member_id,
                                          t.events.c.ruleset_hash).order_by(t.events.c.id)).all(),
            "transactions": conn.execute(select(t.transactions.c.kind, t.transactions.c.member_id,
                                                t.transactions.c.points, t.transactions.c.rule_id)
                                         .order_by(t.transactions.c.occurred_at, t.transactions.c.id)).all(),
            "referrals": sorted(conn.execute(select(t.referrals.c.referee_id, t.referrals.c.referrer_id)).all()),
        }


@pytest.mark.parametrize("seed", [1, 2])
def test_record_many_is_sending_one_by_one(services: Services, twin: Services, clock: FixedClock, seed: int) -> None:
    for svc in (services, twin):
        _prepare(svc, clock)
    clock.set(datetime(2025, 6, 1, tzinfo=timezone.utc))
    made = stream(seed, 160)
    one_by_one: list[Any] = []
    for make in made:
        try:
            one_by_one.append(answer(services.events.record("market", make(services))))
        except DomainError as error:
            one_by_one.append(answer(error))
    rnd = random.Random(seed)
    batched: list[Any] = []
    index = 0
    while index < len(made):
        # The first batch is the members' sign-ups (a referral event names its referrer's
        # code, which exists once the referrer has signed up).
        size = len(MEMBERS) if index == 0 else rnd.choice([1, 3, 17, 40, 64])
        events = [make(twin) for make in made[index:index + size]]
        batched.extend(answer(o) for o in twin.events.record_many("market", events))
        index += size
    errors = [a for a in one_by_one if isinstance(a, tuple)]
    codes = {e[1] for e in errors}
    # The stream does exercise failures in the middle of batches, and successes.
    assert {"unknown-member", "currency-mismatch", "idempotency-conflict"} <= codes, codes
    assert len(errors) < len(one_by_one) // 2
    for position, (one, many) in enumerate(zip(one_by_one, batched)):
        assert many == one, f"event {position} ({made[position](services).event_id}): {_diff(one, many)}"
    assert len(batched) == len(one_by_one)
    assert state(twin) == state(services)


def _diff(one: Any, many: Any, path: str = "") -> str:
    """Where two answers first differ (for the failure message)."""
    if isinstance(one, dict) and isinstance(many, dict):
        for key in sorted(set(one) | set(many)):
            if one.get(key) != many.get(key):
                return _diff(one.get(key), many.get(key), f"{path}.{key}")
    if isinstance(one, list) and isinstance(many, list) and len(one) == len(many):
        for i, (a, b) in enumerate(zip(one, many)):
            if a != b:
                return _diff(a, b, f"{path}[{i}]")
    return f"{path}: one by one {one!r}, batched {many!r}"


def test_an_event_refused_after_it_changed_the_batch_leaves_no_trace(services: Services, twin: Services,
                                                                      clock: FixedClock) -> None:
    """A sign-up whose new member id the ledger refuses fails after the batch has enrolled
    a member in memory and posted other events' earns: the batch runs again without it,
    and every other event's answer and the stored rows are those of sending one by one."""
    for svc in (services, twin):
        _prepare(svc, clock)
    clock.set(datetime(2025, 6, 1, tzinfo=timezone.utc))
    at = START + timedelta(days=3)
    events = [
        EventInput("a-1", "signup", "m0", external_ref="c-m0", occurred_at=at),
        EventInput("a-2", "purchase", "m0", occurred_at=at, amount=Money(20_000, "KRW"), order_id="o-1"),
        EventInput("a-3", "signup", "not a valid id!", external_ref="c-bad", occurred_at=at),
        EventInput("a-4", "purchase", "m0", occurred_at=at, amount=Money(30_000, "KRW"), order_id="o-2"),
    ]
    one_by_one = []
    for event in events:
        try:
            one_by_one.append(answer(services.events.record("market", event)))
        except DomainError as error:
            one_by_one.append(answer(error))
    batched = [answer(o) for o in twin.events.record_many("market", events)]
    assert batched == one_by_one
    assert [a[1] if isinstance(a, tuple) else "ok" for a in batched] == ["ok", "ok", "validation-error", "ok"]
    assert state(twin) == state(services)
    with twin.db.read() as conn:
        refs = conn.execute(select(t.members.c.external_ref)).scalars().all()
    assert refs == ["c-m0"]  # no trace of the refused enrolment



def test_a_bulk_send_refreshes_planner_statistics_as_an_import_does(services: Services, clock: FixedClock,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A large batch is a bulk write: after it, the events service has PostgreSQL re-analyze
    the tables that grew much (`storage/statistics.py`; without it, later batches' lookups
    turn into scans: BENCHMARKS.md §8). A small one (an API call) does not ask."""
    from dangol.service import events as events_module
    asked: list[object] = []
    monkeypatch.setattr(events_module, "refresh_stale_statistics", asked.append)
    _prepare(services, clock)
    clock.set(datetime(2025, 6, 1, tzinfo=timezone.utc))
    signups = [EventInput(f"s{n}", "signup", f"m{n}", external_ref=f"c-{n}", occurred_at=START) for n in range(300)]
    services.events.record("market", signups[0])
    services.events.record_many("market", signups[1:10])
    assert asked == []
    services.events.record_many("market", signups[10:])
    assert asked == [services.db]


def test_a_batch_reads_its_rules_cap_counters_up_front(services: Services, clock: FixedClock) -> None:
    """The example's review rule is capped once per order and 5 times a month: a batch of
    reviews by many members reads those counters in its one up-front query, not one query
    per review and cap, and the caps hold as they do one by one."""
    _prepare(services, clock)
    clock.set(datetime(2025, 6, 1, tzinfo=timezone.utc))
    services.events.record_many("market", [EventInput(f"s{m}", "signup", m, external_ref=f"c-{m}", occurred_at=START)
                                           for m in MEMBERS])
    # Each member buys orders o0..o5 (the review rule pays only for one's own order).
    services.events.record_many("market", [EventInput(f"p{m}-{n}", "purchase", m, amount=Money(1000, "KRW"),
                                                      order_id=f"o{n}", occurred_at=START) for m in MEMBERS
                                           for n in range(6)])
    # Each member: 7 reviews in March (orders o0..o5, then o0 again): 5 paid, the 6th over the
    # month's cap, the 7th a second review of o0 (once per order).
    reviews = [EventInput(f"r{m}-{n}", "review", m, occurred_at=START + timedelta(days=1 + n, hours=i),
                          order_id=f"o{n % 6}")
               for n in range(7) for i, m in enumerate(MEMBERS)]
    with statements(services.db) as seen:
        outcomes = services.events.record_many("market", reviews)
    counter_reads = [s for s in seen if "member_counters" in s and s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(counter_reads) == 1, counter_reads
    paid = {m: [o["total_points"] for o in outcomes if isinstance(o, dict) and o["member_id"] == m] for m in MEMBERS}
    assert all(points == [100, 100, 100, 100, 100, 0, 0] for points in paid.values()), paid


def test_a_batch_looks_its_event_ids_up_in_one_query(services: Services, clock: FixedClock) -> None:
    """Load, decide, write: the batch's event ids (new ones, a repeat of a recorded event and
    a repeat within the batch) are looked up in one query, after its members are locked,
    and a repeat gets the recorded answer."""
    _prepare(services, clock)
    clock.set(datetime(2025, 6, 1, tzinfo=timezone.utc))
    services.events.record_many("market", [EventInput(f"s{m}", "signup", m, external_ref=f"c-{m}", occurred_at=START)
                                           for m in MEMBERS])
    purchases = [EventInput(f"p{m}", "purchase", m, occurred_at=START + timedelta(days=1),
                            amount=Money(10_000, "KRW"), order_id=f"o-{m}") for m in MEMBERS]
    with statements(services.db) as seen:
        outcomes = services.events.record_many("market", [*purchases, purchases[0],
                                                          EventInput("sm0", "signup", "m0", external_ref="c-m0",
                                                                     occurred_at=START)])
    # (The rules' `order.exists` reads the batch's orders from the events too, in a query of its own.)
    event_reads = [s for s in seen if re.search(r"\bFROM events\b", s) and "events.event_id IN" in s]
    assert len(event_reads) == 1, event_reads
    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert outcomes[len(MEMBERS)] == outcomes[0]  # the repeat within the batch: the same answer
    assert outcomes[-1]["event_id"] == "sm0" and outcomes[-1]["recorded"]  # recorded before: its answer
