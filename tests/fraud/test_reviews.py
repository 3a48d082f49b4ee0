"""Fraud reviews beyond screening, on both engines: a program with settled reviews replays
clean; a settlement's Idempotency-Key gives the same answer again and refuses another
request; opened and settled reviews are in the outbox; erasure leaves no fraud signal or
fingerprint link of the member; ring detection finds a ring through another member."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from dangol.domain import commands as cmd
from dangol.domain.errors import IdempotencyConflict
from dangol.fraud.errors import FraudRefused
from dangol.service.container import Services
from dangol.service.fraud.spending import SpendingScreen
from dangol.service.replay import ReplayCheck
from dangol.service.staff.audit import CLI
from dangol.storage import tables as t

from .conftest import Send
from .test_screening import enrol, purchase


def _held(services: Services, send: Send, market: str, member: str, device: str, first: int) -> dict:
    for n in (first, first + 1):
        purchase(send, n, member, device=device)
    held = purchase(send, first + 2, member, device=device)
    assert held["fraud"]["action"] == "hold"
    return held


def _outbox(services: Services, market: str) -> list[dict]:
    with services.db.read() as conn:
        return [json.loads(r.payload) for r in conn.execute(
            select(t.outbox).where(t.outbox.c.program_id == market, t.outbox.c.type.like("fraud.%"))
            .order_by(t.outbox.c.id))]


def test_a_program_with_released_and_reversed_reviews_replays_clean(
        services: Services, send: Send, market: str) -> None:
    ann, bob = enrol(send, "ann"), enrol(send, "bob")
    _held(services, send, market, ann, "dev-a", 1)
    _held(services, send, market, bob, "dev-b", 10)
    first, second = services.fraud_reviews.list(market).items
    released = services.fraud_reviews.release(market, first["id"], CLI)
    reversed_ = services.fraud_reviews.reverse(market, second["id"], CLI)
    purchase(send, 20, ann)  # after the settlements, as the ledger has them
    report = ReplayCheck(services).run(market)
    assert report.ok, report.differences
    settled = released["resolution"]["transactions"] + reversed_["resolution"]["transactions"]
    assert report.causes["fraud reviews"] == len(settled) >= 2


def test_a_review_settled_differently_than_replay_can_is_named(services: Services, send: Send, market: str) -> None:
    ann = enrol(send, "ann")
    _held(services, send, market, ann, "dev-a", 1)
    [review] = services.fraud_reviews.list(market).items
    services.fraud_reviews.release(market, review["id"], CLI)
    with services.db.write() as conn:  # the review's event forgotten: no judgement opens the review again
        conn.execute(t.fraud_reviews.update().values(event_id="elsewhere"))
    report = ReplayCheck(services).run(market)
    assert not report.ok
    assert any("fraud review of event 'elsewhere'" in d for d in report.differences)


def test_a_settlement_key_answers_the_same_and_refuses_another_request(
        services: Services, send: Send, market: str) -> None:
    ann, bob = enrol(send, "ann"), enrol(send, "bob")
    _held(services, send, market, ann, "dev-a", 1)
    _held(services, send, market, bob, "dev-b", 10)
    first, second = services.fraud_reviews.list(market).items
    released = services.fraud_reviews.release(market, first["id"], CLI, "settle-1")
    assert services.fraud_reviews.release(market, first["id"], CLI, "settle-1") == released
    with pytest.raises(IdempotencyConflict):
        services.fraud_reviews.reverse(market, first["id"], CLI, "settle-1")  # another decision
    with pytest.raises(IdempotencyConflict):
        services.fraud_reviews.release(market, second["id"], CLI, "settle-1")  # another review
    assert services.fraud_reviews.list(market).items == [second]  # the refused requests wrote nothing


def test_opened_and_settled_reviews_are_in_the_outbox(services: Services, send: Send, market: str) -> None:
    ann = enrol(send, "ann")
    held = _held(services, send, market, ann, "dev-a", 1)
    [review] = services.fraud_reviews.list(market).items
    [opened] = _outbox(services, market)
    assert (opened["type"], opened["review_id"], opened["action"], opened["points"], opened["member_id"]) == (
        "fraud.review_opened", review["id"], "hold", review["points"], ann)
    assert held["balance"]["pending"] == held["total_points"]  # a challenge's reward of the event is held too
    services.fraud_reviews.reverse(market, review["id"], CLI)
    services.fraud_reviews.reverse(market, review["id"], CLI)  # the same answer, told once
    settled = _outbox(services, market)[1:]
    assert [(n["type"], n["status"], n["points"]) for n in settled] == [
        ("fraud.review_settled", "reversed", held["total_points"])]


def test_erasure_leaves_no_fraud_signal_or_link_of_the_member(services: Services, send: Send, market: str) -> None:
    ann, bob = enrol(send, "ann"), enrol(send, "bob")
    _held(services, send, market, ann, "dev-a", 1)
    purchase(send, 10, bob, device="dev-b", payment_ref="card-b", address="addr-b")
    with services.db.write() as conn:  # as a scoring run leaves them
        conn.execute(t.fraud_scores.insert(), [{"program_id": market, "member_id": m, "score": 1, "features": "{}",
                                                "trained": False, "scored_at": services.clock.now()}
                                               for m in (ann, bob)])
    services.erasures.erase(market, ann, "cli")
    with services.db.read() as conn:
        for table in (t.fraud_signals, t.fraud_links, t.fraud_scores):
            members = {r.member_id for r in conn.execute(select(table.c.member_id).where(
                table.c.program_id == market))}
            assert ann not in members and bob in members, table.name
    assert services.check.run().ok


def test_a_ring_is_found_through_a_member_the_referral_does_not_name(
        services: Services, send: Send, market: str) -> None:
    ann, bob, cat = enrol(send, "ann"), enrol(send, "bob"), enrol(send, "cat")
    purchase(send, 1, ann, device="phone-1")
    purchase(send, 2, cat, device="phone-1", payment_ref="card-9")  # cat links ann's phone and a card
    code = services.referrals.code_for(market, ann)["referral_code"]
    send("r1", "referral", bob, referral_code=code, fields={"payment_ref": "card-9"})
    paid = purchase(send, 3, bob, amount=20_000)
    assert paid["fraud"]["action"] == "hold"
    ring = next(f for f in paid["fraud"]["findings"] if f["rule_id"] == "rings")
    assert "ring of 3 members" in ring["reason"]



def test_redemptions_and_gifts_past_their_velocity_rules_are_refused(
        services: Services, send: Send, market: str) -> None:
    ann, bob = enrol(send, "ann"), enrol(send, "bob")
    for n in range(1, 5):
        purchase(send, n, ann, amount=20_000)
    services.ledger.run(market, cmd.Redeem(ann, 1_000))
    with pytest.raises(FraudRefused, match="2600 redemption points per member within 1 days"):
        services.ledger.run(market, cmd.Redeem(ann, 1_600))
    services.ledger.run(market, cmd.Redeem(ann, 1_500))  # 2,500 within the day: at the limit
    redemptions = [t for t in services.reader.history(market, ann).items if t["kind"] == "redeem"]
    assert [t["points"] for t in redemptions] == [1_500, 1_000]  # the refusal wrote nothing
    assert services.check.run().ok
    # A gift (the example ladder lets only its top tier gift): the screen the ledger asks
    # before each transfer, with one gift applied in the same session and not yet written.
    screen, now = SpendingScreen(services._fraud_rules_in_force), services.clock.now()
    with services.db.read() as conn:
        screen(conn, market, cmd.Transfer(ann, bob, 100), now, [])
        with pytest.raises(FraudRefused, match="2 gift events per member within 1 hours"):  # hold: refused too
            screen(conn, market, cmd.Transfer(ann, bob, 100), now, [("transfer", now, 100)])
