"""Fraud screening in the events' decide step, and the review queue, on both engines:
held points are pending until released or reversed; a refusal writes nothing; a raw IP
address never reaches the ledger; a referral inside a ring is held."""

from __future__ import annotations

import pytest

from dangol.domain import Money
from dangol.domain.errors import InvalidRequest
from dangol.fraud.errors import FraudRefused, ReviewSettled
from dangol.service.container import Services
from dangol.service.staff.audit import CLI
from dangol.storage.audit_repository import AuditFilter

from .conftest import Send


def purchase(send: Send, n: int, member: str, amount: int = 10_000, **fields: str) -> dict:
    return send(f"p{n}", "purchase", member, order_id=f"o{n}", amount=Money(amount, "KRW"), fields=fields)


def enrol(send: Send, ref: str) -> str:
    return str(send(f"s-{ref}", "signup", external_ref=ref)["member_id"])


def test_a_third_earn_from_one_device_within_the_hour_is_held_then_released_once(
        services: Services, send: Send, market: str) -> None:
    ann, bob = enrol(send, "ann"), enrol(send, "bob")
    assert "fraud" not in purchase(send, 1, ann, device="dev-1")
    assert "fraud" not in purchase(send, 2, bob, device="dev-1")
    held = purchase(send, 3, ann, device="dev-1")
    assert held["fraud"]["action"] == "hold"
    assert held["fraud"]["findings"][0]["rule_id"] == "device-farm"
    assert held["balance"]["pending"] == held["total_points"] > 0
    [review] = services.fraud_reviews.list(market).items
    assert (review["event_id"], review["status"], review["member_id"]) == ("p3", "open", ann)

    released = services.fraud_reviews.release(market, review["id"], CLI)
    assert released["status"] == "released" and released["resolution"]["points"] == held["total_points"]
    assert services.fraud_reviews.release(market, review["id"], CLI) == released  # idempotent
    with pytest.raises(ReviewSettled):
        services.fraud_reviews.reverse(market, review["id"], CLI)
    assert services.fraud_reviews.list(market).items == []
    entries = services.staff_audit.entries(AuditFilter(market, ann)).items
    assert [e["action"] for e in entries if e["action"].startswith("fraud.")] == ["fraud.release"]
    assert services.check.run().ok


def test_reversing_a_hold_takes_the_pending_points_back(services: Services, send: Send, market: str) -> None:
    ann = enrol(send, "ann")
    for n in (1, 2):
        purchase(send, n, ann, device="dev-9")
    held = purchase(send, 3, ann, device="dev-9")
    available = held["balance"]["available"]
    [review] = services.fraud_reviews.list(market).items
    reversed_ = services.fraud_reviews.reverse(market, review["id"], CLI)
    assert reversed_["status"] == "reversed"
    assert {t["kind"] for t in reversed_["resolution"]["transactions"]} == {"reverse"}
    assert reversed_["resolution"]["points"] == held["total_points"]
    balance = purchase(send, 4, ann)["balance"]  # no device: screened, nothing found
    assert balance["pending"] == 0 and balance["available"] > available
    assert services.check.run().ok


def test_a_refused_event_writes_nothing(services: Services, send: Send, market: str) -> None:
    ann = enrol(send, "ann")
    purchase(send, 1, ann, amount=500_000, payment_ref="card-1")  # 25,000 points
    with pytest.raises(FraudRefused, match="card-burst|earn points per payment"):
        purchase(send, 2, ann, amount=500_000, payment_ref="card-1")
    assert services.fraud_reviews.list(market, None).items == []
    assert purchase(send, 2, ann, amount=1_000)["event_id"] == "p2"  # the id is free: nothing was written


def test_a_raw_ip_address_is_refused(send: Send, market: str) -> None:
    ann = enrol(send, "ann")
    with pytest.raises(InvalidRequest, match="never a raw IP"):
        purchase(send, 1, ann, ip="203.0.113.7")
    assert "fraud" not in purchase(send, 2, ann, ip="ip-hmac-3f2a")


def test_the_referrer_bonus_inside_a_device_ring_is_held(services: Services, send: Send, market: str) -> None:
    ann, bob = enrol(send, "ann"), enrol(send, "bob")
    purchase(send, 1, ann, device="shared-phone")
    code = services.referrals.code_for(market, ann)["referral_code"]
    send("r1", "referral", bob, referral_code=code, fields={"device": "shared-phone"})
    paid = purchase(send, 2, bob, amount=20_000)  # the referee's first purchase pays both sides
    assert paid["fraud"]["action"] == "hold"
    assert "rings" in [f["rule_id"] for f in paid["fraud"]["findings"]]
    assert all(p["points"] > 0 for p in paid["effects"]["points"])
