"""The example program with a `fraud:` section added to its ruleset."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.service.events import EventInput

from conftest import EXAMPLE_POLICY
from events.conftest import KST, MARKET

FRAUD = """
fraud:
  hold_days: 14
  velocity:
    - {id: device-farm, kind: earn, per: device, count: 2, window: {hours: 1}, action: hold}
    - {id: card-burst, kind: earn, per: payment, points: 40000, window: {days: 1}, action: refuse}
    - {id: cash-out, kind: redemption, per: member, points: 2500, window: {days: 1}, action: refuse}
    - {id: gift-burst, kind: gift, per: member, count: 1, window: {hours: 1}, action: hold}
    - {id: fast-referrer, kind: referral, per: member, count: 3, window: {days: 1}, action: flag}
  rings:
    share: [device, payment, address]
    min_members: 2
    action: hold
"""


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 2, 1, 0, 0, tzinfo=timezone.utc))


@pytest.fixture
def market(services: Services, clock: FixedClock) -> str:
    # Transfers allowed: gifts are screened too.
    services.programs.create_program("market", "Talent market", "KRW",
                                     dataclasses.replace(EXAMPLE_POLICY, allow_transfers=True))
    services.rulesets.set_policy("market", 30, KST)
    services.rulesets.publish("market", MARKET + FRAUD)
    clock.set(datetime(2025, 3, 10, 3, 0, tzinfo=timezone.utc))
    return "market"


Send = Callable[..., dict[str, Any]]


@pytest.fixture
def send(services: Services, market: str) -> Send:
    def sending(event_id: str, kind: str, member_id: str | None = None, **extra: Any) -> dict[str, Any]:
        fields = tuple(sorted(extra.pop("fields", {}).items()))
        return services.events.record(market, EventInput(event_id, kind, member_id, fields=fields, **extra))
    return sending
