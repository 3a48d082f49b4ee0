"""Test mode over the API: a test program's clock is its "now" (events, balances, the
future-time check) while the wall clock goes on; advancing is idempotent and never goes
back; answers about it are marked; a live program is untouched."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dangol.domain.clock import FixedClock
from dangol.domain.errors import InvalidRequest
from dangol.service.container import Services
from dangol.service.programs import Scope
from dangol.service.test_clocks.advance import Advance

from .helpers import Api, assert_problem

LAB = "/v1/programs/lab"


@pytest.fixture
def lab(admin: Api) -> Api:
    made = admin.post("/v1/programs", {"id": "lab", "name": "Lab", "currency": "KRW", "mode": "test",
                                       "policy": {"earn_rate": {"points": 5, "per_minor_units": 100}}})
    assert made.status_code == 201, made.text
    assert made.json()["livemode"] is False and made.headers["Dangol-Livemode"] == "false"
    return admin


def test_a_test_programs_now_is_its_clock_while_the_wall_clock_goes_on(
        lab: Api, services: Services, clock: FixedClock) -> None:
    shop = Api(lab.client, services.programs.create_api_key("lab", {Scope.READ, Scope.WRITE}, "shop")[1])
    created = clock.now()
    clock.advance(days=40)  # the wall clock
    member = shop.post(f"{LAB}/members", {"external_ref": "ana"}).json()["member"]["id"]
    earned = shop.post(f"{LAB}/members/{member}/earn", {"points": 1_000})
    assert earned.status_code == 200 and earned.headers["Dangol-Livemode"] == "false"
    assert earned.json()["transaction"]["occurred_at"] == created.isoformat().replace("+00:00", "Z")
    # An event an hour ahead of the program's clock is in its future, though long past on the wall.
    ahead = (created + timedelta(hours=1)).isoformat()
    assert_problem(shop.post(f"{LAB}/members/{member}/earn", {"points": 5, "occurred_at": ahead}), 422,
                   "validation-error")
    lab.post(f"{LAB}/test-clock/advance", {"by": "P340D"})
    balance = shop.get(f"{LAB}/members/{member}/balance").json()
    assert balance["as_of"] == (created + timedelta(days=340)).isoformat().replace("+00:00", "Z")
    assert balance["expiring_soon"]["points"] == 1_000  # within 30 days of the program's now
    lab.post(f"{LAB}/test-clock/advance", {"by": "P30D"})
    assert shop.get(f"{LAB}/members/{member}/balance").json()["available"] == 0  # expired by the job
    live = lab.get("/v1/programs")
    assert [p["livemode"] for p in live.json()["items"]] == [False] and "Dangol-Livemode" not in live.headers


def test_advancing_is_idempotent_and_never_goes_back(lab: Api, clock: FixedClock) -> None:
    first = lab.post(f"{LAB}/test-clock/advance", {"by": 3600}, key="hour")
    assert first.status_code == 200, first.text
    assert lab.post(f"{LAB}/test-clock/advance", {"by": 3600}, key="hour").json() == first.json()  # moved once
    assert lab.get(f"{LAB}/test-clock").json()["now"] == first.json()["now"]
    assert_problem(lab.post(f"{LAB}/test-clock/advance", {"by": 60}, key="hour"), 409, "idempotency-conflict")
    assert_problem(lab.post(f"{LAB}/test-clock/advance", {"to": clock.now().isoformat()}), 422, "validation-error")
    assert_problem(lab.post(f"{LAB}/test-clock/advance", {}), 422, "validation-error")
    assert lab.post("/v1/programs", {"id": "shop", "name": "Shop", "currency": "KRW"}).json()["livemode"] is True
    assert_problem(lab.get("/v1/programs/shop/test-clock"), 409, "live-program")
    assert_problem(lab.post("/v1/programs/shop/test-clock/advance", {"by": 60}), 409, "live-program")


@given(start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
       seconds=st.integers(min_value=-10**9, max_value=10**9))
def test_a_test_clock_only_moves_forward(start: datetime, seconds: int) -> None:
    now = start.replace(tzinfo=timezone.utc)
    for wanted in (Advance(by=timedelta(seconds=seconds)), Advance(to=now + timedelta(seconds=seconds))):
        try:
            target = wanted.target(now)
        except InvalidRequest:
            assert seconds < 0 or seconds > 366 * 5 * 86400
        else:
            assert now <= target == now + timedelta(seconds=seconds)
