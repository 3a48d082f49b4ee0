"""apply_many (a batch of events, as an import or a replay sends them) has the same effects,
event by event, and leaves the same rows as one apply per event."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import select

from dangol.rules import Event, MemberState, evaluate
from dangol.service.container import Services
from dangol.storage import tables as t

from .support import KST, MARKET, enrol, purchase


def history(members: list[str]) -> list[tuple[str, dict[str, Any], Any, datetime]]:
    """Three members buying on staggered days over ten weeks, design some of the time."""
    items = []
    start = datetime(2025, 3, 3, 10, tzinfo=KST)
    for n in range(45):
        member = members[n % 3]
        at = start + timedelta(days=n * 5 // 3, hours=n % 3)
        body = purchase(10_000 + 1_000 * n, [("design", 10_000)] if n % 2 else [], order=f"o{n}")
        event = Event("purchase", body["amount"]["amount"], "KRW", f"o{n}", ("design",) if n % 2 else ())
        state = MemberState(member, datetime(2025, 1, 1, tzinfo=KST), "Asia/Seoul", first_purchase=n < 3)
        items.append((member, body, evaluate(MARKET, event, state, {}, at), at))
    return items


def rows(services: Services) -> list[tuple[Any, ...]]:
    with services.db.read() as conn:
        progress = conn.execute(select(t.engagement_progress).order_by(*t.engagement_progress.primary_key)).all()
        coupons = conn.execute(select(t.engagement_coupons.c.code, t.engagement_coupons.c.member_id,
                                      t.engagement_coupons.c.template).order_by(t.engagement_coupons.c.code)).all()
        earns = conn.execute(select(t.transactions.c.member_id, t.transactions.c.rule_id, t.transactions.c.points)
                             .where(t.transactions.c.kind == "earn").order_by(t.transactions.c.id)).all()
    return [tuple(r) for r in (*progress, *coupons, *earns)]


def test_a_batch_is_the_same_as_one_event_at_a_time(services: Services, program_id: str) -> None:
    numbers = count(1)
    services.engagement.codes = lambda: f"C{next(numbers)}"
    members = [enrol(services, program_id, f"c{i}") for i in range(3)]
    items = history(members)
    with services.db.write() as conn:
        one_by_one = [services.engagement.apply(conn, program_id, m, body, ev, at, ruleset=MARKET)
                      for m, body, ev, at in items]
    expected = rows(services)
    assert any(e["points"] for e in one_by_one) and any(e["coupons"] for e in one_by_one)  # rewards happened
    with services.db.write() as conn:  # start again: the same history, as one batch
        # The outbox too: its rows are named by transaction id, and SQLite gives the ids again.
        for table in (t.engagement_progress, t.engagement_coupons, t.engagement_badges, t.postings, t.lots,
                      t.transactions, t.idempotency_keys, t.outbox):
            conn.execute(table.delete())
        conn.execute(t.members.update().values(available=0, pending=0, held=0, debt=0))
    numbers = count(1)
    with services.db.write() as conn:
        batched = services.engagement.apply_many(conn, program_id, items, ruleset=MARKET)
    assert without_ids(batched) == without_ids(one_by_one)  # ids: PostgreSQL's sequences move on
    assert rows(services) == expected


def without_ids(effects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # ids and log sequence numbers: PostgreSQL's sequences move on
    return [{**e, "points": [{**p, "transaction": {**p["transaction"], "id": None}, "log": None} for p in e["points"]]}
            for e in effects]
