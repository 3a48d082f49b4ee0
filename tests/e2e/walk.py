"""The end-to-end walk's small vocabulary: a member's day at a given time, events sent through
the HTTP API, and what each answer paid (rule id → points)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from dangol.domain import FixedClock

from api.helpers import Api

EVENTS = "/v1/programs/market/events"
KST = timezone(timedelta(hours=9))


def kst(year: int, month: int, day: int, hour: int = 10) -> datetime:
    """A moment in Seoul (the members' and the ladder's time zone), as the clock's UTC."""
    return datetime(year, month, day, hour, tzinfo=KST).astimezone(timezone.utc)


class Walk:
    """The shop's integration: it sends events as they happen, at the clock's time."""

    def __init__(self, clock: FixedClock, writer: Api, admin: Api) -> None:
        self.clock = clock
        self.writer = writer
        self.admin = admin

    def at(self, moment: datetime) -> None:
        self.clock.set(moment)

    def event(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.writer.post(EVENTS, body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def purchase(self, event_id: str, member: str, order_id: str, amount: int,
                 category: str = "video") -> dict[str, Any]:
        return self.event({"event_id": event_id, "type": "purchase", "member_id": member, "order_id": order_id,
                           "amount": {"amount": amount, "currency": "KRW"},
                           "items": [{"category": category, "amount": amount}]})

    def balance(self, member: str) -> int:
        response = self.writer.get(f"/v1/programs/market/members/{member}/balance")
        assert response.status_code == 200, response.text
        return int(response.json()["available"])

    def tier(self, member: str) -> str:
        response = self.writer.get(f"/v1/programs/market/members/{member}/tier")
        assert response.status_code == 200, response.text
        return str(response.json()["tier"]["name"])

    def recalculate(self, key: str) -> dict[str, Any]:
        response = self.admin.post("/v1/programs/market/tiers/recalculate", {}, key=key)
        assert response.status_code == 200, response.text
        return dict(response.json())


def paid(answer: dict[str, Any], member: str | None = None) -> list[tuple[str, int]]:
    """The points of an event's answer, in order, as (rule id, points), for one member
    (default: the event's own)."""
    who = member or answer["member_id"]
    return [(p["rule_id"], p["points"]) for p in answer["effects"]["points"] if p["member_id"] == who]
