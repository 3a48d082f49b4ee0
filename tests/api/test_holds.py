"""Two-phase redemption over HTTP: hold, then capture or void; a hold that times out
gives its points back."""

from __future__ import annotations

import pytest

from dangol.domain import FixedClock

from .helpers import Api, assert_problem


@pytest.fixture
def base(admin: Api, program_id: str, member_id: str) -> str:
    admin.post(f"/v1/programs/{program_id}/members/{member_id}/earn", {"points": 5_000})
    return f"/v1/programs/{program_id}/members/{member_id}"


def test_a_hold_captured_in_part_returns_the_rest(admin: Api, program_id: str, base: str) -> None:
    placed = admin.post(f"{base}/holds", {"points": 3_000, "order_ref": "pos-1"})
    assert placed.status_code == 201, placed.text
    hold = placed.json()["hold"]
    assert placed.headers["location"] == f"/v1/programs/{program_id}/holds/{hold['id']}"
    assert (hold["status"], hold["points"], hold["order_ref"]) == ("active", 3_000, "pos-1")
    assert placed.json()["balance"] == {"available": 2_000, "pending": 0, "held": 3_000, "debt": 0}
    assert admin.get(f"{base}/balance").json()["held"] == 3_000

    captured = admin.post(f"/v1/programs/{program_id}/holds/{hold['id']}/capture", {"points": 2_500})
    assert captured.status_code == 200, captured.text
    assert captured.json()["hold"]["status"] == "captured"
    assert captured.json()["hold"]["captured"] == 2_500
    assert captured.json()["transaction"]["kind"] == "capture"
    assert captured.json()["balance"] == {"available": 2_500, "pending": 0, "held": 0, "debt": 0}
    assert admin.get(f"/v1/programs/{program_id}/holds/{hold['id']}").json()["status"] == "captured"

    body = assert_problem(admin.post(f"/v1/programs/{program_id}/holds/{hold['id']}/void"), 409, "hold-not-active")
    assert body["resource_status"] == "captured"


def test_a_voided_hold_gives_everything_back(admin: Api, program_id: str, base: str) -> None:
    hold_id = admin.post(f"{base}/holds", {"points": 1_000}).json()["hold"]["id"]
    voided = admin.post(f"/v1/programs/{program_id}/holds/{hold_id}/void")
    assert voided.status_code == 200, voided.text
    assert voided.json()["hold"]["status"] == "voided"
    assert voided.json()["balance"]["available"] == 5_000
    assert_problem(admin.post(f"/v1/programs/{program_id}/holds/{hold_id}/capture"), 409, "hold-not-active")


def test_capturing_more_than_held_is_refused(admin: Api, program_id: str, base: str) -> None:
    hold_id = admin.post(f"{base}/holds", {"points": 1_000}).json()["hold"]["id"]
    assert_problem(admin.post(f"/v1/programs/{program_id}/holds/{hold_id}/capture", {"points": 1_001}),
                   422, "validation-error")
    assert_problem(admin.post(f"{base}/holds", {"points": 4_500}), 409, "insufficient-points")
    assert_problem(admin.post(f"{base}/holds", {"points": 10}), 422, "below-minimum-redemption")


def test_a_timed_out_hold_releases_its_points(admin: Api, program_id: str, base: str, clock: FixedClock) -> None:
    hold_id = admin.post(f"{base}/holds", {"points": 2_000, "timeout_seconds": 60}).json()["hold"]["id"]
    clock.advance(seconds=61)
    assert admin.get(f"{base}/balance").json()["available"] == 5_000  # reads see it at once
    report = admin.post(f"/v1/programs/{program_id}/expiry-runs")
    assert report.status_code == 200, report.text
    assert report.json()["holds_released"] == 1
    assert admin.get(f"/v1/programs/{program_id}/holds/{hold_id}").json()["status"] == "expired"
    assert_problem(admin.post(f"/v1/programs/{program_id}/holds/{hold_id}/capture"), 409, "hold-not-active")
