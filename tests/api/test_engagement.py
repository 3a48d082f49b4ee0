"""Engagement over HTTP: a member's coupons, badges and challenges, redeeming a coupon,
and the opt-in monthly leaderboard, on both databases."""

from __future__ import annotations

from datetime import datetime, timezone
from itertools import count

from dangol.domain import FixedClock
from dangol.domain import MemberStatus
from dangol.domain.commands import Earn, SetMemberStatus
from dangol.service.container import Services

from engagement.support import KST, enrol, purchase, record
from .helpers import Api, assert_problem


def test_a_members_coupons_badges_and_challenges(admin: Api, services: Services, program_id: str,
                                                 clock: FixedClock) -> None:
    clock.set(datetime(2025, 3, 20, tzinfo=timezone.utc))
    numbers = count(1)
    services.engagement.codes = lambda: f"C{next(numbers)}"
    m = enrol(services, program_id, "customer-1")
    # First purchase on 3 March: coupon C1 (design-10) and badge first-order; then purchases on
    # 10 and 17 March: three-this-month completes on the 17th (500 points, badge regular).
    record(services, program_id, m, purchase(20_000, [("design", 20_000)]), datetime(2025, 3, 3, 10, tzinfo=KST),
           first_purchase=True)
    for day in (10, 17):
        record(services, program_id, m, purchase(10_000), datetime(2025, 3, day, 10, tzinfo=KST))
    base = f"/v1/programs/{program_id}/members/{m}"
    coupons = admin.get(base + "/coupons").json()["items"]
    assert [(c["code"], c["template"], c["state"], c["gives"]) for c in coupons] == [
        ("C1", "design-10", "issued", {"kind": "percent", "value": 10, "cap": 5_000})]
    assert [b["badge"] for b in admin.get(base + "/badges").json()["items"]] == ["first-order", "regular"]
    progress = {c["challenge"]: (c["progress"], c["target"], c["completions"])
                for c in admin.get(base + "/challenges").json()["items"]}
    # design: 20,000 of 50,000 (only the first purchase had design items); streak: weeks 10-12.
    assert progress == {"design-quarter": (20_000, 50_000, 0), "three-this-month": (3, 3, 1),
                        "weekly-streak": (3, 4, 0)}

    # Redeem C1 against a 60,000 KRW order: 10% = 6,000, capped at 5,000.
    redeem = f"/v1/programs/{program_id}/coupons/C1/redeem"
    first = admin.post(redeem, {"order_amount": 60_000}, key="r1")
    assert first.status_code == 200, first.text
    assert first.json()["discount"] == 5_000 and first.json()["coupon"]["state"] == "redeemed"
    assert admin.post(redeem, {"order_amount": 60_000}, key="r1").json() == first.json()  # a retry
    assert_problem(admin.post(redeem, {"order_amount": 1}, key="r1"), 409, "idempotency-conflict")
    assert_problem(admin.post(redeem, {"order_amount": 60_000}, key="r2"), 409, "conflict")
    assert_problem(admin.post(f"/v1/programs/{program_id}/coupons/NOPE/redeem", None, key="r3"), 404, "unknown-coupon")
    assert_problem(admin.post(redeem, {"order_amount": -5}, key="r4"), 422, "validation-error")
    assert admin.get(base + "/coupons").json()["items"][0]["state"] == "redeemed"
    assert_problem(admin.get(f"/v1/programs/{program_id}/members/m_nobody/badges"), 404, "unknown-member")


def test_the_monthly_leaderboard_counts_months_in_the_programs_time_zone(admin: Api, services: Services,
                                                                        program_id: str) -> None:
    services.rulesets.set_policy(program_id, 30, "Asia/Seoul")
    for ref, name, earnings in (("alice", "Alice", ((datetime(2025, 3, 2, 12, tzinfo=timezone.utc), 1_200),
                                                     (datetime(2025, 4, 1, tzinfo=timezone.utc), 5_000))),
                                ("bob", "Bob", ((datetime(2025, 3, 5, 12, tzinfo=timezone.utc), 800),
                                                (datetime(2025, 3, 31, 23, 59, tzinfo=timezone.utc), 400)))):
        member_id = enrol(services, program_id, ref)
        services.profiles.update(program_id, member_id, {"display_name": name, "leaderboard_opt_in": True})
        for at, points in earnings:
            services.ledger.run(program_id, Earn(member_id, points=points), at=at)
    march = admin.get(f"/v1/programs/{program_id}/leaderboards/monthly", month="2025-03").json()
    # Seoul is UTC+9: 23:59 UTC on 31 March is 08:59 on 1 April there, so Bob's 400 is April's.
    assert (march["time_zone"], march["from"], march["until"]) == ("Asia/Seoul", "2025-02-28T15:00:00Z",
                                                                   "2025-03-31T15:00:00Z")
    assert march["entries"] == [{"rank": 1, "display_name": "Alice", "points": 1_200},
                                {"rank": 2, "display_name": "Bob", "points": 800}]
    april = admin.get(f"/v1/programs/{program_id}/leaderboards/monthly", month="2025-04").json()
    assert april["entries"] == [{"rank": 1, "display_name": "Alice", "points": 5_000},
                                {"rank": 2, "display_name": "Bob", "points": 400}]


def test_the_monthly_leaderboard_shows_only_who_opted_in(admin: Api, services: Services, program_id: str) -> None:
    def member(ref: str, name: str | None, opt_in: bool, *earnings: tuple[datetime, int]) -> str:
        member_id = enrol(services, program_id, ref)
        services.profiles.update(program_id, member_id, {"display_name": name, "leaderboard_opt_in": opt_in})
        for at, points in earnings:
            services.ledger.run(program_id, Earn(member_id, points=points), at=at)
        return member_id

    march = lambda day, hour=12: datetime(2025, 3, day, hour, tzinfo=timezone.utc)  # noqa: E731
    member("alice", "Alice", True, (march(2), 1_200), (datetime(2025, 4, 1, tzinfo=timezone.utc), 5_000))
    member("bob", "Bob", True, (march(5), 800), (datetime(2025, 3, 31, 23, 59, tzinfo=timezone.utc), 400))
    carol = member("carol", "Carol", False, (march(9), 9_999))  # earned most, did not opt in
    member("eve", "Eve", True, (march(20), 700))
    member("dan", "Dan", True)  # opted in, earned nothing in March
    zed = member("zed", "Zed", True, (march(3), 2_000))  # opted in, then closed the account
    services.ledger.run(program_id, SetMemberStatus(zed, MemberStatus.CLOSED))
    response = admin.get(f"/v1/programs/{program_id}/leaderboards/monthly", month="2025-03")
    assert response.status_code == 200, response.text
    # March, UTC: Alice 1,200 (her 5,000 is on 1 April); Bob 800 + 400 = 1,200 (23:59 on the 31st);
    # Eve 700. Alice and Bob share rank 1 (listed by name), Eve is 3rd.
    assert response.json()["entries"] == [{"rank": 1, "display_name": "Alice", "points": 1_200},
                                          {"rank": 1, "display_name": "Bob", "points": 1_200},
                                          {"rank": 3, "display_name": "Eve", "points": 700}]
    assert "Carol" not in response.text and carol not in response.text and "carol" not in response.text
    assert "Zed" not in response.text
    top = admin.get(f"/v1/programs/{program_id}/leaderboards/monthly", month="2025-04", limit=1).json()
    assert top["entries"] == [{"rank": 1, "display_name": "Alice", "points": 5_000}]
    assert (top["from"], top["until"]) == ("2025-04-01T00:00:00Z", "2025-05-01T00:00:00Z")
    assert_problem(admin.get(f"/v1/programs/{program_id}/leaderboards/monthly", month="2025-13"), 422,
                   "validation-error")
    assert_problem(admin.get("/v1/programs/nowhere/leaderboards/monthly", month="2025-03"), 404, "unknown-program")
    assert admin.client.get(f"/v1/programs/{program_id}/leaderboards/monthly?month=2025-03").status_code == 401
