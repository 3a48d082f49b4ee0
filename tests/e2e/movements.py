"""A year of the example program with every way points enter or leave the ledger, made
through the HTTP API as a brand would run it (and the importer for the history it brings):
imported history (enrolments, an earn, a redemption, an adjustment, a hold and its capture,
a gift, a refund), the rules' earns (welcome, purchases in the launch week, a referral, a
review, tier bonuses), challenge rewards, coupon redemptions of each benefit kind (the
example's percent and points coupons, and a fixed discount a second ruleset adds), a refund
event, a plain earn and its reversal, points pending a return window, operator adjustments,
a gift by a member of the gifting tier, holds captured, voided and timed out, redemptions,
a closure, and expiry runs. `replay --check` must find it all in order."""

from __future__ import annotations

from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from dangol.domain import FixedClock
from dangol.importer import import_file
from dangol.service.container import Services
from dangol.service.programs import Scope

from api.helpers import Api, assert_problem
from importer.helpers import write_jsonl

from .walk import Walk, kst, paid

MARKET = (resources.files("dangol.rules") / "examples" / "market.yaml").read_text(encoding="utf-8")
PROGRAM = "/v1/programs/market"

# The second ruleset, from 1 April: a review also earns a 3,000 KRW discount coupon (a new
# rule and a new template: nothing worsens, so it takes effect at once).
REVIEW_COUPON = MARKET.replace('version: "2025-03 launch"', 'version: "2025-04 reviews"').replace(
    "\ncoupons:\n", """
  - id: review-thanks
    description: A 3,000 KRW discount coupon for a review
    on: review
    when: event.order_id != None
    actions:
      - issue_coupon: {template: thanks-3000}

coupons:
  - id: thanks-3000
    name: 3,000 KRW off the next order
    gives: {discount: 3000}
    valid_days: 60
""", 1)


def history_file(path: Path) -> Path:
    """What the brand's previous system recorded, imported before the program goes live
    (times in Seoul): Kim's 10,000 points of March 2024 expire on 4 March 2025."""
    def ev(event_id: str, kind: str, member: str, when: str, **fields: Any) -> dict[str, Any]:
        return {"event_id": event_id, "type": kind, "member": member, "occurred_at": when, **fields}
    return write_jsonl(path, [
        ev("h01", "enroll", "old-kim", "2024-02-01T10:00:00+09:00"),
        ev("h02", "enroll", "old-lee", "2024-02-01T11:00:00+09:00"),
        ev("h03", "earn", "old-kim", "2024-03-04T10:00:00+09:00", amount=200_000, currency="KRW",
           order_ref="old-o1"),  # 10,000 points
        ev("h04", "earn", "old-lee", "2024-04-01T10:00:00+09:00", points=3_000, reason="opening bonus"),
        ev("h05", "redeem", "old-kim", "2024-05-01T10:00:00+09:00", points=2_000),
        ev("h06", "adjust", "old-lee", "2024-06-01T10:00:00+09:00", points=500, reason="migration correction"),
        ev("h07", "hold", "old-kim", "2024-07-01T10:00:00+09:00", points=1_500, order_ref="old-pos-1"),
        ev("h08", "capture", "old-kim", "2024-07-01T10:05:00+09:00", hold_event="h07", points=1_000),
        ev("h09", "transfer", "old-kim", "2024-08-01T10:00:00+09:00", to_member="old-lee", points=1_000,
           reason="gift"),
        ev("h10", "reverse", "old-kim", "2024-09-01T10:00:00+09:00", order_ref="old-o1", amount=50_000,
           currency="KRW"),  # claws back 2,500
    ])


def a_year_of_every_movement(services: Services, clock: FixedClock, client: TestClient, tmp: Path) -> dict[str, str]:
    """Makes the year; returns the members' ids by name."""
    admin = Api(client, services.programs.create_api_key(None, {Scope.ADMIN}, "operator")[1])
    clock.set(datetime(2025, 2, 1, tzinfo=timezone.utc))
    created = admin.post("/v1/programs", {"id": "market", "name": "Talent market", "currency": "KRW", "policy": {
        "earn_rate": {"points": 5, "per_minor_units": 100}, "allow_transfers": True}})
    assert created.status_code == 201, created.text
    policy = client.put(f"{PROGRAM}/rulesets/policy", json={"notice_days": 30, "default_time_zone": "Asia/Seoul"},
                        headers=admin.headers())
    assert policy.status_code == 200, policy.text
    assert admin.post(f"{PROGRAM}/rulesets", {"document": MARKET, "format": "yaml"}).status_code == 201
    writer = Api(client, services.programs.create_api_key("market", {Scope.READ, Scope.WRITE}, "shop")[1])
    walk = Walk(clock, writer, admin)

    def post(path: str, body: Any = None, status: int = 200) -> dict[str, Any]:
        response = writer.post(f"{PROGRAM}{path}", body)
        assert response.status_code == status, response.text
        return dict(response.json())

    def member(ref: str) -> str:
        return str(writer.get(f"{PROGRAM}/members", external_ref=ref).json()["items"][0]["id"])

    def coupon(member_id: str, template: str) -> str:
        return next(c["code"] for c in writer.get(f"{PROGRAM}/members/{member_id}/coupons").json()["items"]
                    if c["template"] == template and c["state"] == "issued")

    # ---- 10 February: the previous system's history, imported.
    walk.at(kst(2025, 2, 10))
    imported = import_file(services, "market", history_file(tmp / "history.jsonl"))
    assert (imported.applied, imported.rejected) == (10, 0), imported.rejects
    kim, lee = member("old-kim"), member("old-lee")

    # ---- March: sign-ups, a referral, the launch week; a challenge completed (three-this-month).
    walk.at(kst(2025, 3, 1))
    alice = walk.event({"event_id": "signup-alice", "type": "signup", "external_ref": "cust-alice"})["member_id"]
    mina = walk.event({"event_id": "signup-mina", "type": "signup", "external_ref": "cust-mina"})["member_id"]
    walk.at(kst(2025, 3, 2))
    code = writer.get(f"{PROGRAM}/members/{alice}/referral-code").json()["referral_code"]
    walk.event({"event_id": "referral-mina", "type": "referral", "member_id": mina, "referral_code": code})
    walk.at(kst(2025, 3, 3))
    first = walk.purchase("p-1", mina, "o-1", 120_000)
    assert [c["template"] for c in first["effects"]["coupons"]] == ["design-10"]  # percent off
    # ---- 5 March: the expiry run: Kim's imported points of 4 March 2024 (and the 1,000 he gave Lee) expire.
    walk.at(kst(2025, 3, 5, 9))
    expired = post("/expiry-runs", {})
    assert expired["expired_points"] == 3_500 + 1_000, expired
    walk.at(kst(2025, 3, 5))
    walk.purchase("p-2", mina, "o-2", 200_000)
    walk.at(kst(2025, 3, 7))
    third = walk.purchase("p-3", mina, "o-3", 400_000)
    assert ("challenge:three-this-month", 500) in paid(third)
    # ---- A purchase a week for four weeks (weekly-streak: 1,000 points and a points coupon); Kim buys too.
    walk.at(kst(2025, 3, 12))
    walk.purchase("p-4", mina, "o-4", 30_000, category="design")
    walk.purchase("p-kim", kim, "o-kim", 50_000)
    walk.at(kst(2025, 3, 17))
    walk.purchase("p-5", mina, "o-5", 30_000)
    walk.at(kst(2025, 3, 18))
    discount = post(f"/coupons/{coupon(mina, 'design-10')}/redeem", {"order_amount": 40_000})
    assert (discount["discount"], discount["points"]) == (4_000, None)
    walk.at(kst(2025, 3, 20))
    refund = walk.event({"event_id": "refund-1", "type": "refund", "member_id": mina, "order_id": "o-3",
                         "amount": {"amount": 100_000, "currency": "KRW"}})
    assert refund["reversal"]["refund_receipt"]["refund"]["clawed_back"] == 11_000
    walk.at(kst(2025, 3, 24))
    streak = walk.purchase("p-6", mina, "o-6", 30_000)
    assert ("challenge:weekly-streak", 1_000) in paid(streak)
    walk.at(kst(2025, 3, 25))
    credited = post(f"/coupons/{coupon(mina, 'thank-you-500')}/redeem")
    assert credited["points"]["points"] == 500
    # ---- A purchase in the shop, earned without the rules, then partly returned; points pending a return window.
    walk.at(kst(2025, 3, 26))
    post(f"/members/{alice}/earn", {"amount": {"amount": 30_000, "currency": "KRW"}, "order_ref": "shop-o9",
                                    "reason": "in-store purchase"})
    walk.at(kst(2025, 3, 27))
    returned = post(f"/members/{alice}/reversals", {"order_ref": "shop-o9",
                                                    "refund": {"amount": 10_000, "currency": "KRW"}})
    assert returned["refund"]["clawed_back"] == 500

    # ---- 1 April: the tiers job; the second ruleset; a review earns the discount coupon, redeemed.
    walk.at(kst(2025, 4, 1))
    walk.recalculate("tiers-2025-04-01")
    v2 = admin.post(f"{PROGRAM}/rulesets", {"document": REVIEW_COUPON, "format": "yaml",
                                            "effective_from": kst(2025, 4, 1, 11).isoformat()})
    assert v2.status_code == 201, v2.text
    walk.at(kst(2025, 4, 2))
    review = walk.event({"event_id": "review-1", "type": "review", "member_id": mina, "order_id": "o-1"})
    assert [c["template"] for c in review["effects"]["coupons"]] == ["thanks-3000"]
    walk.at(kst(2025, 4, 3))
    fixed = post(f"/coupons/{coupon(mina, 'thanks-3000')}/redeem", {"order_amount": 20_000})
    assert fixed["discount"] == 3_000
    # ---- Mina spends 1,050,000 in April: 숲, whose members may gift. Alice (새싹) may not.
    walk.at(kst(2025, 4, 10))
    walk.purchase("p-7", mina, "o-7", 600_000)
    walk.at(kst(2025, 4, 11))
    walk.purchase("p-8", mina, "o-8", 450_000)
    assert walk.tier(mina) == "숲"
    walk.at(kst(2025, 4, 15))
    post(f"/members/{mina}/transfers", {"to_member_id": alice, "points": 5_000, "reason": "birthday gift"})
    assert_problem(writer.post(f"{PROGRAM}/members/{alice}/transfers", {"to_member_id": mina, "points": 1_000}),
                   409, "gifting-not-allowed")
    # ---- Operator adjustments, holds (captured, voided, timed out), a redemption.
    walk.at(kst(2025, 4, 16))
    post(f"/members/{alice}/adjustments", {"points": 2_000, "reason": "service apology"})
    post(f"/members/{mina}/adjustments", {"points": -1_000, "reason": "duplicate credit"})
    post(f"/members/{lee}/adjustments", {"points": 2_000, "reason": "welcome back"})
    walk.at(kst(2025, 4, 17))
    held = post(f"/members/{mina}/holds", {"points": 3_000, "order_ref": "pos-1"}, status=201)
    post(f"/holds/{held['hold']['id']}/capture", {"points": 2_000})
    voided = post(f"/members/{alice}/holds", {"points": 1_000}, status=201)
    post(f"/holds/{voided['hold']['id']}/void")
    post(f"/members/{alice}/earn", {"points": 800, "reason": "return window",
                                    "available_at": kst(2025, 4, 19).isoformat()})  # pending until then
    # Lee's 3,000 imported points expired on 1 April: his hold expires them first.
    post(f"/members/{lee}/holds", {"points": 1_200, "timeout_seconds": 300}, status=201)  # never captured
    post(f"/members/{mina}/holds", {"points": 1_500, "timeout_seconds": 600}, status=201)  # nor this one
    walk.at(kst(2025, 4, 18))
    post(f"/members/{mina}/redeem", {"points": 10_000, "order_ref": "o-redeem"})  # times Mina's hold out first
    # ---- 20 April: the expiry run releases Alice's pending points and Lee's timed-out hold.
    walk.at(kst(2025, 4, 20))
    run = post("/expiry-runs", {})
    assert (run["released_points"], run["holds_released"]) == (800, 1), run

    # ---- 2 May: the shop's till imports a gift Lee (새싹) made it in store yesterday: history, which
    # the gifting tier does not apply to (a live gift from him is refused).
    walk.at(kst(2025, 5, 2))
    assert_problem(writer.post(f"{PROGRAM}/members/{lee}/transfers", {"to_member_id": kim, "points": 500}),
                   409, "gifting-not-allowed")
    gift = import_file(services, "market", write_jsonl(tmp / "till.jsonl", [{
        "event_id": "till-1", "type": "transfer", "member": "old-lee", "to_member": "old-kim", "points": 500,
        "reason": "settled in store", "occurred_at": "2025-05-01T15:00:00+09:00"}]))
    assert (gift.applied, gift.rejected) == (1, 0), gift.rejects

    # ---- The year goes on: the tiers jobs, Kim's account closed with a hold open, a year's expiry.
    walk.at(datetime(2025, 7, 1, 0, 0, tzinfo=timezone.utc))
    walk.recalculate("tiers-2025-07-01")
    walk.at(kst(2025, 12, 1))
    post(f"/members/{kim}/holds", {"points": 1_000, "timeout_seconds": 86_400}, status=201)
    post(f"/members/{kim}/close", {"reason": "moved abroad"})
    walk.at(kst(2026, 3, 10))
    post("/expiry-runs", {})
    walk.recalculate("tiers-2026-03-10")
    assert services.check.run().ok
    return {"alice": alice, "mina": mina, "kim": kim, "lee": lee}

