"""Standing in for the events endpoint: evaluate the example ruleset on an event and hand
the evaluation to EngagementService.apply inside one write transaction, as it will."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from dangol.domain.commands import Enroll
from dangol.rules import Event, MemberState, evaluate
from dangol.rules.loader import load_example
from dangol.service.container import Services

MARKET = load_example()
KST = timezone(timedelta(hours=9))


def enrol(services: Services, program_id: str, ref: str, **profile: Any) -> str:
    member_id: str = services.ledger.run(program_id, Enroll(ref))["member"]["id"]
    services.profiles.update(program_id, member_id, {"time_zone": "Asia/Seoul", **profile})
    return member_id


def purchase(amount: int, items: list[tuple[str, int]] | None = None, order: str = "o") -> dict[str, Any]:
    """An events API body."""
    return {"type": "purchase", "amount": {"amount": amount, "currency": "KRW"}, "order_id": order,
            "items": [{"category": c, "amount": a, "quantity": 1} for c, a in (items or [])]}


def record(services: Services, program_id: str, member_id: str, body: dict[str, Any], at: datetime,
           first_purchase: bool = False) -> dict[str, Any]:
    amount = body.get("amount", {}).get("amount", 0)
    categories = tuple(sorted({i["category"] for i in body.get("items", [])}))
    event = Event(body["type"], amount, "KRW" if amount else None, body.get("order_id"), categories)
    state = MemberState(member_id, datetime(2025, 1, 1, tzinfo=timezone.utc), "Asia/Seoul",
                        first_purchase=first_purchase)
    evaluation = evaluate(MARKET, event, state, {}, at)
    with services.db.write() as conn:
        return services.engagement.apply(conn, program_id, member_id, body, evaluation, at, ruleset=MARKET)
