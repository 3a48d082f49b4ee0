"""The birthday job, on both databases, against a recorder standing in for the events
endpoint (which records each event id once, as the real one does)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pytest

from dangol.domain import FixedClock, MemberStatus
from dangol.domain.commands import Enroll, SetMemberStatus
from dangol.domain.errors import UnknownProgram
from dangol.service.container import Services


class Events:
    """Records every call, and the events as an idempotent endpoint would keep them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.recorded: dict[str, dict[str, Any]] = {}

    def __call__(self, program_id: str, body: dict[str, Any]) -> None:
        self.calls.append((program_id, body))
        self.recorded.setdefault(body["event_id"], body)


def member(services: Services, program_id: str, ref: str, month: int | None, day: int | None, zone: str = "UTC") -> str:
    member_id: str = services.ledger.run(program_id, Enroll(ref))["member"]["id"]
    services.profiles.update(program_id, member_id, {"birthday_month": month, "birthday_day": day,
                                                     "time_zone": zone})
    return member_id


def test_birthdays_in_each_members_time_zone(services: Services, program_id: str, clock: FixedClock) -> None:
    # 15:30 UTC on 13 March 2025 is 00:30 on the 14th in Seoul and 11:30 on the 13th in New York.
    clock.set(datetime(2025, 3, 13, 15, 30, tzinfo=timezone.utc))
    seoul = member(services, program_id, "seoul", 3, 14, "Asia/Seoul")
    york = member(services, program_id, "york", 3, 13, "America/New_York")
    member(services, program_id, "london", 3, 14, "Europe/London")  # still the 13th there
    member(services, program_id, "nobody", None, None)  # no birthday given: never
    events = Events()
    run = services.birthdays.run(program_id, events)
    assert sorted(body["member_id"] for _, body in events.calls) == sorted([seoul, york])
    assert run.checked == 3  # members without a birthday are not even read
    body = next(b for _, b in events.calls if b["member_id"] == seoul)
    assert body == {"event_id": f"birthday-2025-{seoul}", "type": "birthday", "member_id": seoul,
                    "occurred_at": "2025-03-13T15:30:00Z"}


def test_a_birthday_is_one_event_a_year_however_often_the_job_runs(services: Services, program_id: str,
                                                                   clock: FixedClock) -> None:
    clock.set(datetime(2025, 3, 14, 3, tzinfo=timezone.utc))
    m = member(services, program_id, "m", 3, 14)
    events = Events()
    for _ in range(3):
        services.birthdays.run(program_id, events)
    clock.set(datetime(2025, 3, 14, 20, tzinfo=timezone.utc))  # later the same day
    services.birthdays.run(program_id, events)
    assert len(events.calls) == 4 and list(events.recorded) == [f"birthday-2025-{m}"]
    clock.set(datetime(2026, 3, 14, 3, tzinfo=timezone.utc))  # a year on: a new event
    services.birthdays.run(program_id, events)
    assert list(events.recorded) == [f"birthday-2025-{m}", f"birthday-2026-{m}"]


def test_29_february_and_a_given_date(services: Services, program_id: str, clock: FixedClock) -> None:
    clock.set(datetime(2025, 3, 10, tzinfo=timezone.utc))
    leap = member(services, program_id, "leap", 2, 29, "Asia/Seoul")
    closed = member(services, program_id, "closed", 2, 28)
    services.ledger.run(program_id, SetMemberStatus(closed, MemberStatus.CLOSED))
    events = Events()
    run = services.birthdays.run(program_id, events, on=date(2025, 2, 28))  # 2025 is not a leap year
    assert [b["member_id"] for _, b in events.calls] == [leap] and run.sent == [f"birthday-2025-{leap}"]
    # The re-run for a past day: the event happened when that day began for the member (Seoul).
    assert events.calls[0][1]["occurred_at"] == "2025-02-27T15:00:00Z"
    assert services.birthdays.run(program_id, Events(), on=date(2025, 3, 1)).sent == []
    # 2028 is a leap year: 28 February is nobody's day (the leap member's is the 29th, the
    # other member with 28 February is closed).
    assert services.birthdays.run(program_id, Events(), on=date(2028, 2, 28)).sent == []
    assert services.birthdays.run(program_id, Events(), on=date(2028, 2, 29)).sent == [f"birthday-2028-{leap}"]
    with pytest.raises(UnknownProgram):
        services.birthdays.run("nowhere", Events())
