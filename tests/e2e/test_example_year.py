"""A year in the example program (src/dangol/rules/examples/market.yaml), end to end through
the HTTP API, on SQLite and PostgreSQL: Mina signs up, is referred by Alice, buys across the
tiers (the launch week's double points and its cap, 열매 then 나무 in one quarter), writes a
review, refunds part of an order, has a birthday, drops back a tier after a short quarter,
redeems points, and a year later her first points expire. Every figure is worked out by hand
in the comment above its assertion; docs/rules.md, "A year in the example program", tells
the same walk as a table.

How the example's rules add up (docs/rules.md, rules/evaluation.py): the base phase runs by
priority (base-earn 100, first-purchase 90, referral 80, frequent-buyer 70), the member's
tier bonus `tier:<name>` last, each rate rounded down on its own; then the launch week's ×2
adds once more what the base phase gave the buyer (not the referrer's share), at most
20,000 per purchase. Member facts are those *before* the event: the tier bonus comes with
the purchase after the one that reached the tier, and `purchases_this_month` does not count
the purchase being judged. Members are in Seoul (the program's default time zone); every
moment below is 10:00 KST (01:00 UTC) unless it says otherwise."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from importlib import resources
from typing import Any

from fastapi.testclient import TestClient

from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.service.programs import Scope
from dangol.service.replay import ReplayCheck
from dangol.transparency import VerifierKey, open_checkpoint
from dangol.transparency.audit import audit

from api.helpers import Api, assert_problem
from logserver.records import records

from .walk import Walk, kst, paid

MARKET = (resources.files("dangol.rules") / "examples" / "market.yaml").read_text(encoding="utf-8")


def test_a_year_in_the_example_program(services: Services, clock: FixedClock, client: TestClient) -> None:
    admin = Api(client, services.programs.create_api_key(None, {Scope.ADMIN}, "operator")[1])

    # ---- 1 February 2025: the program, its notice policy, the example ruleset published a
    # month ahead (30 days' notice; it takes effect at 00:00 KST on 1 March).
    created = admin.post("/v1/programs", {"id": "market", "name": "Talent market", "currency": "KRW",
                                          "policy": {"earn_rate": {"points": 5, "per_minor_units": 100}}})
    assert created.status_code == 201, created.text
    policy = client.put("/v1/programs/market/rulesets/policy", json={"notice_days": 30,
                                                                     "default_time_zone": "Asia/Seoul"},
                        headers=admin.headers())
    assert policy.status_code == 200, policy.text
    published = admin.post("/v1/programs/market/rulesets", {"document": MARKET, "format": "yaml"})
    assert published.status_code == 201, published.text
    ruleset = published.json()["hash"]
    assert published.json()["status"] == "upcoming"
    writer = Api(client, services.programs.create_api_key("market", {Scope.READ, Scope.WRITE}, "shop")[1])
    walk = Walk(clock, writer, admin)

    # ---- Sat 1 March: Alice, then Mina, sign up. welcome: 1,000 each.
    walk.at(kst(2025, 3, 1))
    alice_up = walk.event({"event_id": "signup-alice", "type": "signup", "external_ref": "cust-alice"})
    alice = alice_up["member_id"]
    assert alice_up["ruleset"] == ruleset
    assert paid(alice_up) == [("welcome", 1000)] and alice_up["balance"]["available"] == 1000
    mina_up = walk.event({"event_id": "signup-mina", "type": "signup", "external_ref": "cust-mina"})
    mina = mina_up["member_id"]
    assert paid(mina_up) == [("welcome", 1000)] and mina_up["balance"]["available"] == 1000
    assert walk.tier(mina) == "새싹"  # every member starts on the lowest rung

    # ---- Sun 2 March: Mina names Alice's referral code. A referral pays nothing by itself.
    walk.at(kst(2025, 3, 2))
    code = writer.get(f"/v1/programs/market/members/{alice}/referral-code").json()["referral_code"]
    referred = walk.event({"event_id": "referral-mina", "type": "referral", "member_id": mina,
                           "referral_code": code})
    assert paid(referred) == [] and referred["balance"]["available"] == 1000

    # ---- Mon 3 March (launch week): Mina's first purchase, order o-1, 120,000 KRW.
    walk.at(kst(2025, 3, 3))
    p1 = walk.purchase("p-1", mina, "o-1", 120_000)
    # base-earn 5% of 120,000 = 6,000; first-purchase 1,000; referral 1,000 to Mina (and 1,000
    # to Alice); 새싹 has no bonus. The buyer's base phase: 6,000 + 1,000 + 1,000 = 8,000;
    # launch-week ×2 adds 8,000 (cap 20,000 ok) → 16,000; balance 1,000 + 16,000 = 17,000.
    assert paid(p1) == [("base-earn", 6000), ("first-purchase", 1000), ("referral", 1000), ("launch-week", 8000)]
    assert p1["total_points"] == 16_000 and p1["balance"]["available"] == 17_000
    # Alice: referral 1,000 (`to: referrer`, not doubled: the multiplier is the buyer's) → 2,000.
    assert paid(p1, alice) == [("referral", 1000)]
    assert walk.balance(alice) == 2000
    # first-purchase-coupon: the 10%-off design coupon and the badge first-order.
    assert [c["template"] for c in p1["effects"]["coupons"]] == ["design-10"]
    assert [b["badge"] for b in p1["effects"]["badges"]] == ["first-order"]
    # Q1 spend 120,000 < 300,000: still 새싹.
    assert p1["effects"]["tier_changes"] == [] and walk.tier(mina) == "새싹"

    # ---- Wed 5 March (launch week): order o-2, 200,000 KRW, the second purchase of March.
    walk.at(kst(2025, 3, 5))
    p2 = walk.purchase("p-2", mina, "o-2", 200_000)
    # base-earn 5% of 200,000 = 10,000; still 새싹 when judged (no bonus); launch-week ×2 adds
    # 10,000 (cap ok) → 20,000; balance 17,000 + 20,000 = 37,000.
    assert paid(p2) == [("base-earn", 10_000), ("launch-week", 10_000)]
    assert p2["balance"]["available"] == 37_000
    # Q1 spend 120,000 + 200,000 = 320,000 ≥ 300,000: upgraded to 열매 at once.
    assert [(c["from"], c["to"], c["reason"]) for c in p2["effects"]["tier_changes"]] == [("새싹", "열매", "upgrade")]
    assert walk.tier(mina) == "열매"

    # ---- Fri 7 March (launch week): order o-3, 400,000 KRW, the third purchase of March.
    walk.at(kst(2025, 3, 7))
    p3 = walk.purchase("p-3", mina, "o-3", 400_000)
    # base-earn 5% of 400,000 = 20,000; tier:열매 1% = 4,000 (the tier reached on 5 March pays
    # from this purchase on); frequent-buyer no (2 purchases earlier this month, not 3).
    # launch-week ×2 would add 24,000: capped at 20,000 per purchase, 4,000 withheld.
    # Then three-this-month completes (3 purchases in March): 500 points, badge regular.
    # 20,000 + 4,000 + 20,000 + 500 = 44,500; balance 37,000 + 44,500 = 81,500.
    assert paid(p3) == [("base-earn", 20_000), ("tier:열매", 4000), ("launch-week", 20_000),
                        ("challenge:three-this-month", 500)]
    assert [(w["rule_id"], w["points"]) for w in p3["withheld"]] == [("launch-week", 4000)]
    assert p3["balance"]["available"] == 81_500
    assert "regular" in [b["badge"] for b in p3["effects"]["badges"]]
    # Q1 spend 320,000 + 400,000 = 720,000 ≥ 600,000: 나무, the second upgrade of the quarter.
    assert [(c["from"], c["to"]) for c in p3["effects"]["tier_changes"]] == [("열매", "나무")]
    assert walk.tier(mina) == "나무"

    # ---- Mon 17 March (the launch week is over): order o-4, 100,000 KRW.
    walk.at(kst(2025, 3, 17))
    body = {"event_id": "p-4", "type": "purchase", "member_id": mina, "order_id": "o-4",
            "amount": {"amount": 100_000, "currency": "KRW"}, "items": [{"category": "video", "amount": 100_000}]}
    # What the checkout shows first: the quote, with nothing written (the balance stays 81,500).
    quote = writer.post("/v1/programs/market/events/quote", body).json()
    assert quote["recorded"] is False and quote["total_points"] == 9000 and quote["balance"]["available"] == 81_500
    p4 = walk.event(body)
    # base-earn 5% = 5,000; frequent-buyer +2% = 2,000 (3 purchases earlier this month);
    # tier:나무 +2% = 2,000; no multiplier after 9 March → 9,000; balance 81,500 + 9,000 = 90,500.
    assert paid(p4) == [("base-earn", 5000), ("frequent-buyer", 2000), ("tier:나무", 2000)]
    assert p4["balance"]["available"] == 90_500
    assert [(p["rule_id"], p["points"]) for p in quote["effects"]["points"]] == paid(p4)
    assert p4["effects"]["tier_changes"] == [] and walk.tier(mina) == "나무"  # Q1 820,000 < 숲's 1,000,000

    # ---- Tue 18 March: a review of o-4: 100. A second review of the same order: nothing
    # (once per order), balance 90,500 + 100 = 90,600.
    walk.at(kst(2025, 3, 18))
    review = walk.event({"event_id": "review-1", "type": "review", "member_id": mina, "order_id": "o-4"})
    assert paid(review) == [("review", 100)] and review["balance"]["available"] == 90_600
    again = walk.event({"event_id": "review-2", "type": "review", "member_id": mina, "order_id": "o-4"})
    assert paid(again) == [] and again["balance"]["available"] == 90_600
    assert [(w["rule_id"], w["reason"]) for w in again["withheld"]] == [("review", "cap: 1 time(s) per order")]

    # ---- Thu 20 March: 100,000 KRW of o-3 (400,000) refunded. o-3 earned base-earn 20,000 +
    # tier:열매 4,000 + launch-week 20,000 = 44,000 (the challenge's 500 is its own earn, not
    # the order's): floor(44,000 × 100,000 / 400,000) = 11,000 clawed back; 90,600 − 11,000 = 79,600.
    walk.at(kst(2025, 3, 20))
    refund = walk.event({"event_id": "refund-1", "type": "refund", "member_id": mina, "order_id": "o-3",
                         "amount": {"amount": 100_000, "currency": "KRW"}})
    assert refund["reversal"]["refund"] == {"amount": 100_000, "full": False}
    assert refund["reversal"]["refund_receipt"]["refund"]["clawed_back"] == 11_000
    assert refund["balance"]["available"] == 79_600
    # Q1 spend 820,000 − 100,000 = 720,000: a refund never downgrades inside the quarter.
    assert walk.tier(mina) == "나무"

    # ---- Tue 1 April: the quarter job. Q1 ended with 720,000 ≥ 600,000: 나무 is confirmed for
    # Q2, no change for anyone (Alice's Q1 spend is 0 and she is on the lowest rung).
    walk.at(kst(2025, 4, 1))
    q1 = walk.recalculate("tiers-2025-04-01")
    assert (q1["members"], q1["changes"]) == (2, 0)
    assert walk.tier(mina) == "나무"

    # ---- Thu 10 April: order o-5, 350,000 KRW, the only purchase of Q2.
    walk.at(kst(2025, 4, 10))
    p5 = walk.purchase("p-5", mina, "o-5", 350_000)
    # base-earn 5% = 17,500; tier:나무 2% = 7,000 → 24,500; balance 79,600 + 24,500 = 104,100.
    assert paid(p5) == [("base-earn", 17_500), ("tier:나무", 7000)]
    assert p5["balance"]["available"] == 104_100
    # Q2 spend 350,000 qualifies for 열매, below the 나무 she holds: no change during the quarter.
    assert p5["effects"]["tier_changes"] == [] and walk.tier(mina) == "나무"

    # ---- Tue 20 May: Mina's birthday (set on her profile), raised by the daily job through the
    # events endpoint. The example ruleset has no birthday rule: the event is recorded and pays 0.
    walk.at(kst(2025, 5, 1))
    profile = writer.client.patch(f"/v1/programs/market/members/{mina}",
                                  json={"birthday_month": 5, "birthday_day": 20},
                                  headers=writer.headers("profile-mina"))
    assert profile.status_code == 200, profile.text
    walk.at(kst(2025, 5, 20))
    answers: list[dict[str, Any]] = []
    run = services.birthdays.run("market", lambda program, body: answers.append(walk.event(body)))
    assert run.sent == [f"birthday-2025-{mina}"]
    [birthday] = answers
    assert birthday["type"] == "birthday" and paid(birthday) == [] and birthday["balance"]["available"] == 104_100
    # The job again the same day finds the event recorded and sends nothing.
    again_run = services.birthdays.run("market", lambda program, body: answers.append(walk.event(body)))
    assert (again_run.sent, again_run.recorded, len(answers)) == ([], [f"birthday-2025-{mina}"], 1)

    # ---- Tue 1 July 09:00 KST (00:00 UTC): Q2 ended at 00:00 KST with 350,000, enough for 열매
    # only: a `grace` change, 나무 kept 14 days, until 00:00 KST on 15 July.
    walk.at(datetime(2025, 7, 1, 0, 0, tzinfo=timezone.utc))
    q2 = walk.recalculate("tiers-2025-07-01")
    assert (q2["changes"], q2["grace"], q2["downgrades"]) == (1, 1, 0)
    assert walk.tier(mina) == "나무"
    # ---- Tue 15 July: the grace is over: down to the higher of what Q2 qualified for (열매)
    # and Q3 so far (0 → 새싹): 열매.
    walk.at(kst(2025, 7, 15))
    graced = walk.recalculate("tiers-2025-07-15")
    assert (graced["changes"], graced["downgrades"]) == (1, 1)
    assert walk.tier(mina) == "열매"

    # ---- Mon 21 July: order o-6, 100,000 KRW, as 열매.
    walk.at(kst(2025, 7, 21))
    p6 = walk.purchase("p-6", mina, "o-6", 100_000)
    # base-earn 5% = 5,000; tier:열매 1% = 1,000 → 6,000; balance 104,100 + 6,000 = 110,100.
    assert paid(p6) == [("base-earn", 5000), ("tier:열매", 1000)]
    assert p6["balance"]["available"] == 110_100
    assert p6["effects"]["tier_changes"] == [] and walk.tier(mina) == "열매"  # Q3 100,000 < 300,000

    # ---- Fri 1 August: Mina redeems 30,000 points (the minimum is 1,000; 999 is refused).
    walk.at(kst(2025, 8, 1))
    refused = writer.post(f"/v1/programs/market/members/{mina}/redeem", {"points": 999})
    assert_problem(refused, 422, "below-minimum-redemption")
    redeemed = writer.post(f"/v1/programs/market/members/{mina}/redeem", {"points": 30_000, "order_ref": "o-7"})
    assert redeemed.status_code == 200, redeemed.text
    # First-expiring-first: welcome 1,000 (1 Mar), o-1's 6,000 + 1,000 + 1,000 + 8,000 (3 Mar),
    # o-2's base-earn 10,000 (5 Mar): 27,000; then 3,000 of o-2's launch-week 10,000, which
    # keeps 7,000. 110,100 − 30,000 = 80,100.
    assert redeemed.json()["balance"]["available"] == 80_100

    # ---- Tue 10 March 2026, 01:00 UTC: the expiry job. Points live 365 days, so everything
    # earned before 01:00 UTC on 10 March 2025 has expired: o-2's launch-week 7,000 (after the
    # redemption), o-3's base-earn 20,000 − 11,000 clawed back = 9,000, its tier:열매 4,000
    # and launch-week 20,000, the challenge's 500: 7,000 + 9,000 + 4,000 + 20,000 + 500 = 40,500.
    # Alice: her welcome 1,000 (1 Mar) and referral 1,000 (3 Mar): 2,000.
    walk.at(kst(2026, 3, 10))
    expiry = writer.post("/v1/programs/market/expiry-runs", {}, key="expiry-2026-03-10")
    assert expiry.status_code == 200, expiry.text
    assert expiry.json()["expired_points"] == 40_500 + 2000
    # Mina keeps what she earned from 17 March on: o-4's 9,000, the review's 100, o-5's 24,500
    # and o-6's 6,000 = 39,600 (= 80,100 − 40,500). Alice has nothing left.
    assert walk.balance(mina) == 39_600
    assert walk.balance(alice) == 0
    # The tiers job of the same day: 열매 was reached (by the downgrade) in Q3, so Q3 is under
    # review: 100,000 qualifies for 새싹 only: `grace` at its end (1 October), then, 14 days
    # later, `downgrade` to the higher of Q3's 새싹 and Q4's 0 (새싹): two changes.
    year_end = walk.recalculate("tiers-2026-03-10")
    assert (year_end["changes"], year_end["grace"], year_end["downgrades"]) == (2, 1, 1)
    assert walk.tier(mina) == "새싹"
    tiers = [(h["from"], h["to"], h["reason"]) for h in reversed(
        writer.get(f"/v1/programs/market/members/{mina}/tier/history", limit=20).json()["items"])]
    assert tiers == [("새싹", "열매", "upgrade"), ("열매", "나무", "upgrade"), ("나무", "나무", "grace"),
                     ("나무", "열매", "downgrade"), ("열매", "열매", "grace"), ("열매", "새싹", "downgrade")]

    # ---- The books: the ledger's own check, the log's operator check, and the balances an
    # auditor recomputes from the signed log's entries alone.
    assert services.check.run().ok
    services.log.integrate()
    services.log.sign()
    assert services.log_check.run().ok
    checkpoint = open_checkpoint(services.log.checkpoint_note(), VerifierKey.parse(services.log.verifier_key()))
    entries = records(services, checkpoint.checkpoint.size)
    books = audit(entries, checkpoint.checkpoint).books.programs["market"]
    for member, expected in ((mina, 39_600), (alice, 0)):
        commitment = services.log.member_key("market", member)["commitment"]
        assert books.members[commitment].available == expected
    # The ruleset itself is in the log, with the hash every earn names.
    published_entries = [json.loads(r.entry) for r in entries]
    assert [e["hash"] for e in published_entries if e["type"] == "ruleset"] == [ruleset]
    # And the ledger follows from the recorded events and the published rules (`dangol replay --check`).
    replay = ReplayCheck(services).run("market")
    assert replay.ok, replay.differences
    # Every earn carries the ruleset's hash, and every posting of it the rule that made its points.
    history = writer.get(f"/v1/programs/market/members/{mina}/transactions", limit=50).json()["items"]
    earns = [t for t in history if t["kind"] == "earn"]
    assert earns and all(t["ruleset_hash"] == ruleset and all(p["rule_id"] for p in t["postings"]) for t in earns)
