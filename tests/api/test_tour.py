"""The curl tour of the README, over HTTP: an operator creates a program and a key for
its shop, which enrols a customer, earns, reads the balance, redeems and pages history."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dangol.domain import FixedClock

from .helpers import Api


def test_the_tour_from_program_to_history(client: TestClient, admin: Api, clock: FixedClock) -> None:
    created = admin.post("/v1/programs", {
        "id": "cafe", "name": "Café Dangol", "currency": "KRW",
        "policy": {"earn_rate": {"points": 5, "per_minor_units": 100}, "min_redemption": 1000}})
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/programs/cafe"
    assert created.json()["policy"]["earn_rate"] == {"points": 5, "per_minor_units": 100}
    assert created.json()["policy"]["lot_validity_days"] == 365

    key = admin.post("/v1/programs/cafe/api-keys", {"name": "pos", "scopes": ["read", "write"]})
    assert key.status_code == 201, key.text
    assert key.json()["token"].startswith("dgl_")
    assert key.json()["scopes"] == ["read", "write"]
    shop = Api(client, key.json()["token"])

    enrolled = shop.post("/v1/programs/cafe/members", {"external_ref": "customer-42"})
    assert enrolled.status_code == 201, enrolled.text
    member = enrolled.json()["member"]
    assert member["status"] == "active" and member["external_ref"] == "customer-42"
    assert enrolled.headers["location"] == f"/v1/programs/cafe/members/{member['id']}"
    base = f"/v1/programs/cafe/members/{member['id']}"

    for order in range(1, 6):
        clock.advance(minutes=1)
        earned = shop.post(f"{base}/earn", {"amount": {"amount": 20_000, "currency": "KRW"},
                                            "order_ref": f"order-{order}"})
        assert earned.status_code == 200, earned.text
        assert earned.json()["points"] == 1_000  # 5% of 20,000 KRW
    assert earned.json()["balance"]["available"] == 5_000

    balance = shop.get(f"{base}/balance")
    assert balance.status_code == 200
    assert balance.json()["available"] == 5_000
    assert balance.json()["pending"] == 0 and balance.json()["held"] == 0
    assert balance.json()["expiring_soon"]["points"] == 0

    redeemed = shop.post(f"{base}/redeem", {"points": 1_500, "order_ref": "order-6"})
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["transaction"]["kind"] == "redeem"
    assert redeemed.json()["balance"]["available"] == 3_500
    assert shop.get(f"{base}/balance").json()["available"] == 3_500

    found = shop.get("/v1/programs/cafe/members", external_ref="customer-42")
    assert found.json() == {"items": [shop.get(base).json()]}
    assert shop.get("/v1/programs/cafe/members", external_ref="nobody").json() == {"items": []}

    # History, newest first, two at a time, following the cursor and the Link header.
    seen: list[str] = []
    page = shop.get(f"{base}/transactions", limit=2)
    pages = 0
    while True:
        pages += 1
        assert page.status_code == 200, page.text
        seen += [entry["kind"] for entry in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            assert "link" not in page.headers
            break
        assert page.headers["link"].endswith('>; rel="next"') and f"cursor={cursor}" in page.headers["link"]
        next_url = page.headers["link"][1:page.headers["link"].index(">")]
        page = client.get(next_url, headers=shop.headers())
    assert pages == 3
    assert seen == ["redeem"] + ["earn"] * 5
    first = shop.get(f"{base}/transactions").json()["items"][0]
    assert first["change"] == -1_500 and first["order_ref"] == "order-6"


def test_lots_are_listed_and_paged(admin: Api, program_id: str, member_id: str) -> None:
    base = f"/v1/programs/{program_id}/members/{member_id}"
    for points in (100, 200, 300):
        assert admin.post(f"{base}/earn", {"points": points}).status_code == 200
    assert admin.post(f"{base}/adjustments", {"points": -100, "reason": "typo"}).status_code == 200

    open_lots = admin.get(f"{base}/lots").json()
    assert [lot["remaining"] for lot in open_lots["items"]] == [200, 300]
    assert open_lots["next_cursor"] is None

    first = admin.get(f"{base}/lots", include_spent="true", limit=2)
    assert [lot["amount"] for lot in first.json()["items"]] == [100, 200]
    rest = admin.get(f"{base}/lots", include_spent="true", limit=2, cursor=first.json()["next_cursor"])
    assert [lot["amount"] for lot in rest.json()["items"]] == [300]
    assert rest.json()["next_cursor"] is None


def test_earning_later_keeps_points_pending(admin: Api, program_id: str, member_id: str) -> None:
    base = f"/v1/programs/{program_id}/members/{member_id}"
    earned = admin.post(f"{base}/earn", {"points": 700, "available_at": "2026-01-15T00:00:00+09:00"})
    assert earned.status_code == 200, earned.text
    assert earned.json()["lot"]["state"] == "pending"
    assert earned.json()["lot"]["available_at"] == "2026-01-14T15:00:00Z"
    balance = admin.get(f"{base}/balance").json()
    assert (balance["available"], balance["pending"]) == (0, 700)


def test_reversal_adjustment_transfer_and_status(admin: Api, program_id: str, member_id: str) -> None:
    base = f"/v1/programs/{program_id}/members/{member_id}"
    admin.post(f"{base}/earn", {"amount": {"amount": 100_000, "currency": "KRW"}, "order_ref": "o-1"})
    reversed_ = admin.post(f"{base}/reversals", {"order_ref": "o-1", "refund": {"amount": 40_000, "currency": "KRW"}})
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["refund"]["clawed_back"] == 2_000
    assert reversed_.json()["balance"]["available"] == 3_000

    adjusted = admin.post(f"{base}/adjustments", {"points": 500, "reason": "goodwill"})
    assert adjusted.status_code == 200 and adjusted.json()["balance"]["available"] == 3_500

    suspended = admin.post(f"{base}/suspend", {"reason": "chargeback review"})
    assert suspended.status_code == 200 and suspended.json()["member"]["status"] == "suspended"
    reactivated = admin.post(f"{base}/reactivate")
    assert reactivated.json()["member"]["status"] == "active"
    closed = admin.post(f"{base}/close")
    assert closed.json()["member"]["status"] == "closed"
    assert closed.json()["balance"]["available"] == 0
    assert [t["kind"] for t in closed.json()["transactions"]] == ["expire"]


def test_transfers_between_members(admin: Api) -> None:
    admin.post("/v1/programs", {"id": "gifts", "name": "Gifts", "currency": "USD",
                                "policy": {"allow_transfers": True, "min_redemption": 1}})
    alice = admin.post("/v1/programs/gifts/members", {"external_ref": "alice"}).json()["member"]["id"]
    bob = admin.post("/v1/programs/gifts/members", {"external_ref": "bob"}).json()["member"]["id"]
    admin.post(f"/v1/programs/gifts/members/{alice}/earn", {"points": 300})
    sent = admin.post(f"/v1/programs/gifts/members/{alice}/transfers", {"to_member_id": bob, "points": 120})
    assert sent.status_code == 200, sent.text
    assert sent.json()["transaction"]["counterparty_id"] == bob
    assert admin.get(f"/v1/programs/gifts/members/{bob}/balance").json()["available"] == 120
    assert admin.get(f"/v1/programs/gifts/members/{alice}/balance").json()["available"] == 180
    received = admin.get(f"/v1/programs/gifts/members/{bob}/transactions").json()["items"][0]
    assert (received["kind"], received["change"]) == ("transfer", 120)
