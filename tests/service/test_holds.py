"""Holds through the service: the point-of-sale flow across separate requests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from dangol.domain import FixedClock
from dangol.domain.commands import CaptureHold, Earn, PlaceHold, VoidHold
from dangol.domain.errors import HoldNotActive, UnknownHold
from dangol.service.container import Services


def test_hold_then_partial_capture(services: Services, program_id: str, enroll: Callable[..., str]) -> None:
    member = enroll("alice")
    services.ledger.run(program_id, Earn(member, points=3_000))
    placed = services.ledger.run(program_id, PlaceHold(member, 2_000, order_ref="pos-1"))
    assert placed["balance"] == {"available": 1_000, "pending": 0, "held": 2_000, "debt": 0}
    hold = placed["hold"]["id"]
    captured = services.ledger.run(program_id, CaptureHold(hold, 1_500))
    assert captured["hold"]["status"] == "captured" and captured["hold"]["captured"] == 1_500
    assert captured["balance"] == {"available": 1_500, "pending": 0, "held": 0, "debt": 0}
    assert services.reader.hold(program_id, hold)["status"] == "captured"


def test_a_hold_closed_by_an_earlier_request_is_not_active_rather_than_unknown(
        services: Services, program_id: str, enroll: Callable[..., str]) -> None:
    member = enroll("alice")
    services.ledger.run(program_id, Earn(member, points=3_000))
    captured = services.ledger.run(program_id, PlaceHold(member, 1_000))["hold"]["id"]
    voided = services.ledger.run(program_id, PlaceHold(member, 1_000))["hold"]["id"]
    services.ledger.run(program_id, CaptureHold(captured))
    services.ledger.run(program_id, VoidHold(voided))
    for command in (CaptureHold(captured), VoidHold(captured), CaptureHold(voided), VoidHold(voided)):
        with pytest.raises(HoldNotActive) as refused:
            services.ledger.run(program_id, command)
        assert refused.value.code == "hold-not-active"
    with pytest.raises(UnknownHold):
        services.ledger.run(program_id, CaptureHold(captured + voided + 1_000))
    assert services.reader.balance(program_id, member)["available"] == 2_000


def test_a_timed_out_hold_gives_its_points_back(services: Services, clock: FixedClock, program_id: str,
                                                enroll: Callable[..., str]) -> None:
    member = enroll("alice")
    services.ledger.run(program_id, Earn(member, points=3_000))
    hold = services.ledger.run(program_id, PlaceHold(member, 2_000, timeout_seconds=120))["hold"]["id"]
    clock.advance(minutes=3)
    # Reads see the hold released before anything has written it down ...
    assert services.reader.balance(program_id, member)["available"] == 3_000
    # ... a capture that comes too late is refused ...
    with pytest.raises(HoldNotActive):
        services.ledger.run(program_id, CaptureHold(hold))
    # ... and the expiry job writes the release down.
    assert services.expiry.run(program_id).holds_released == 1
    released = services.reader.hold(program_id, hold)
    assert released["status"] == "expired"
    assert released["closed_at"] == (clock.now() - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert services.check.run().ok
