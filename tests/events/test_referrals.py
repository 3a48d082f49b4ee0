"""Referrals: a code per member; the relation recorded by a `referral` event; both sides paid
(the example's `referral` rule, 1,000 each) only when the referee completes a first purchase;
self-referral, a second referrer and loops refused."""

from __future__ import annotations

from typing import Any

from api.helpers import Api, assert_problem

from .test_events_api import EVENTS, send, signup


def code(api: Api, member: str) -> str:
    response = api.get(f"/v1/programs/market/members/{member}/referral-code")
    assert response.status_code == 200, response.text
    return str(response.json()["referral_code"])


def refer(api: Api, referee: str, referral_code: str, event_id: str) -> Any:
    return api.post(EVENTS, {"event_id": event_id, "type": "referral", "member_id": referee,
                             "referral_code": referral_code})


def test_both_sides_are_paid_on_the_referees_first_purchase_only(writer: Api, published: str) -> None:
    alice, bob = signup(writer, "alice"), signup(writer, "bob")
    alice_code = code(writer, alice)
    assert code(writer, alice) == alice_code and len(alice_code) == 8  # made once, then the same
    referred = refer(writer, bob, alice_code.lower(), "ref-1")
    assert referred.status_code == 200, referred.text
    assert referred.json()["total_points"] == 0  # nothing yet: the reward waits for a purchase
    # Bob's first purchase, 20,000 KRW: base 1,000 + first-purchase 1,000 + referral 1,000 = 3,000 for Bob,
    # and 1,000 for Alice.
    first = send(writer, {"event_id": "p1", "type": "purchase", "member_id": bob, "order_id": "o1",
                          "amount": {"amount": 20000, "currency": "KRW"}})
    paid = [(p["rule_id"], p["points"], p["member_id"]) for p in first["effects"]["points"]]
    assert paid == [("base-earn", 1000, bob), ("first-purchase", 1000, bob), ("referral", 1000, bob),
                    ("referral", 1000, alice)]
    assert first["total_points"] == 3000
    assert writer.get(f"/v1/programs/market/members/{alice}/balance").json()["available"] == 1000 + 1000
    second = send(writer, {"event_id": "p2", "type": "purchase", "member_id": bob, "order_id": "o2",
                           "amount": {"amount": 20000, "currency": "KRW"}})
    assert [p["rule_id"] for p in second["effects"]["points"]] == ["base-earn"]


def test_self_referral_a_second_referrer_and_loops_are_refused(writer: Api, published: str) -> None:
    a, b, c, d = (signup(writer, name) for name in "abcd")
    problem = assert_problem(refer(writer, a, code(writer, a), "self"), 409, "referral-refused")
    assert "themselves" in problem["detail"]
    assert refer(writer, b, code(writer, a), "a-b").status_code == 200  # a referred b
    assert refer(writer, b, code(writer, a), "a-b-again").status_code == 200  # the same referrer again: harmless
    assert "already referred" in assert_problem(refer(writer, b, code(writer, c), "c-b"), 409,
                                                "referral-refused")["detail"]
    assert "loop" in assert_problem(refer(writer, a, code(writer, b), "b-a"), 409, "referral-refused")["detail"]
    assert refer(writer, c, code(writer, b), "b-c").status_code == 200  # a -> b -> c
    assert "loop" in assert_problem(refer(writer, a, code(writer, c), "c-a"), 409, "referral-refused")["detail"]
    assert_problem(refer(writer, d, "NOSUCHCD", "bad-code"), 422, "validation-error")
    # A member who has already bought can no longer be referred: the reward is for bringing new buyers.
    send(writer, {"event_id": "p1", "type": "purchase", "member_id": d, "order_id": "o1",
                  "amount": {"amount": 1000, "currency": "KRW"}})
    assert "already made a purchase" in assert_problem(refer(writer, d, code(writer, a), "a-d"), 409,
                                                       "referral-refused")["detail"]
