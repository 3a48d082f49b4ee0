"""The tier endpoints on both backends, on the example ladder (market.yaml): a member's
tier and progress, their history, and the admin recalculation with its idempotency."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dangol.domain import FixedClock
from dangol.rules.loader import load_example
from dangol.service.container import Services
from dangol.service.programs import Scope

from .helpers import Api, assert_problem

KST = timezone(timedelta(hours=9))


@pytest.fixture
def shopper(services: Services, admin: Api, program_id: str, clock: FixedClock) -> str:
    """A member who bought for 650,000 KRW on 5 May 2025 (Q2): 나무 (600,000) at once."""
    services.tiers.use_ladder(program_id, load_example().tiers)
    clock.set(datetime(2025, 5, 1, tzinfo=KST))
    member = admin.post(f"/v1/programs/{program_id}/members", {"external_ref": "c1"}).json()["member"]["id"]
    clock.set(datetime(2025, 5, 5, tzinfo=KST))
    earn = admin.post(f"/v1/programs/{program_id}/members/{member}/earn",
                      {"amount": {"amount": 650_000, "currency": "KRW"}, "order_ref": "o1"})
    assert earn.status_code == 200, earn.text
    with services.db.write() as conn:  # what the events pipeline does after its ledger writes
        services.tiers.after_activity(conn, program_id, [member], clock.now())
    return str(member)


def test_a_member_sees_tier_benefits_and_progress(admin: Api, program_id: str, shopper: str,
                                                 clock: FixedClock) -> None:
    clock.set(datetime(2025, 6, 1, tzinfo=KST))
    body = admin.get(f"/v1/programs/{program_id}/members/{shopper}/tier").json()
    assert body["tier"] == {"name": "나무", "threshold": 600_000, "benefits": {
        "earn_bonus": {"points": 2, "per": 100}, "multiplier": None,
        "perks": ["수수료 5% 할인", "우선 고객 서비스"], "badge": "tree", "gifting": False}}
    assert body["metric"] == {"name": "spend", "value": 650_000}
    assert (body["next_tier"]["name"], body["remaining"]) == ("숲", 350_000)  # 1,000,000 - 650,000
    assert body["window"] == {"kind": "quarter", "start": "2025-03-31T15:00:00Z", "end": "2025-06-30T15:00:00Z"}
    history = admin.get(f"/v1/programs/{program_id}/members/{shopper}/tier/history").json()
    assert [(h["from"], h["to"], h["reason"], h["metric"]) for h in history["items"]] == [
        ("새싹", "나무", "upgrade", 650_000)]
    # A cursor of 18 digits (the most the API takes) reads the same page, on both engines.
    older = admin.get(f"/v1/programs/{program_id}/members/{shopper}/tier/history", cursor="999999999999999999")
    assert older.json() == history


def test_recalculation_is_admin_only_idempotent_and_counts(client, admin: Api, services: Services,  # type: ignore[no-untyped-def]
                                                           program_id: str, shopper: str, clock: FixedClock) -> None:
    clock.set(datetime(2025, 10, 5, tzinfo=KST))  # Q3 spent nothing: 나무 kept in grace until 15 October
    path = f"/v1/programs/{program_id}/tiers/recalculate"
    first = admin.post(path, {}, key="recalc-1")
    assert first.status_code == 200, first.text
    assert {k: first.json()[k] for k in ("members", "changes", "grace", "downgrades")} == {
        "members": 1, "changes": 1, "grace": 1, "downgrades": 0}
    assert admin.post(path, {}, key="recalc-1").json() == first.json()  # a replay: the same answer
    assert admin.post(path, {}, key="recalc-2").json()["changes"] == 0  # a second run: nothing to do
    assert_problem(admin.post(path, {"at": "2025-10-01T00:00:00Z"}, key="recalc-1"), 409, "idempotency-conflict")
    assert_problem(admin.post(path, {"at": "2030-01-01T00:00:00Z"}), 422, "validation-error")
    writer = services.programs.create_api_key(program_id, {Scope.WRITE}, "till")[1]
    assert Api(client, writer).post(path, {}).status_code == 403
    # 15 October 00:00 KST: the grace is over and Q3 (nothing) qualifies for 새싹.
    clock.set(datetime(2025, 10, 20, tzinfo=KST))
    body = admin.post(path, {"at": "2025-10-14T15:00:00Z"}).json()
    assert (body["downgrades"], body["changes"]) == (1, 1)


def test_refusals_are_problems(admin: Api, program_id: str, services: Services, member_id: str) -> None:
    assert_problem(admin.get(f"/v1/programs/{program_id}/members/{member_id}/tier"), 404, "no-tier-ladder")
    assert_problem(admin.post(f"/v1/programs/{program_id}/tiers/recalculate", {}), 404, "no-tier-ladder")
    services.tiers.use_ladder(program_id, load_example().tiers)
    assert_problem(admin.get(f"/v1/programs/{program_id}/members/m_nobody/tier"), 404, "unknown-member")
    assert_problem(admin.get(f"/v1/programs/nowhere/members/{member_id}/tier/history"), 404, "unknown-program")
