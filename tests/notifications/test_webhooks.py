"""Webhooks, end to end against a real HTTP receiver: the outbox row written with the change,
its delivery signed per Standard Webhooks (checked with the package's own verifier), retries
with backoff to a receiver that is down, dead letters and their redelivery, secret rotation,
and the refusals that keep subscriptions from reaching private addresses."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from dangol.api import create_app
from dangol.domain import commands as cmd
from dangol.domain.clock import FixedClock
from dangol.domain.errors import InsufficientPoints
from dangol.domain.money import Money
from dangol.service.container import Services
from dangol.service.notifications.dispatch import Dispatcher
from dangol.service.programs import Scope

from api.helpers import Api, assert_problem
from .conftest import Receiver, notifying


@pytest.fixture
def notify(services: Services, clock: FixedClock) -> Services:
    return notifying(services, clock, timeout=1.0)


@pytest.fixture
def api(notify: Services, program_id: str) -> Iterator[Api]:
    token = notify.programs.create_api_key(program_id, {Scope.READ, Scope.WRITE}, "test")[1]
    with TestClient(create_app(notify)) as client:
        yield Api(client, token)


def enrol_and_earn(services: Services, program_id: str, amount: int = 50_000) -> str:
    member = services.ledger.run(program_id, cmd.Enroll("customer-1"))["member"]["id"]
    services.ledger.run(program_id, cmd.Earn(member, money=Money(amount, "KRW"), order_ref="order-1"))
    return str(member)


def subscribe(api: Api, program_id: str, url: str, types: list[str] | None = None, **extra: object) -> dict:
    response = api.post(f"/v1/programs/{program_id}/webhooks", {"url": url, "event_types": types or ["*"], **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def outbox_types(services: Services) -> list[str]:
    with services.db.read() as conn:
        return [r[0] for r in conn.exec_driver_sql("SELECT type FROM outbox ORDER BY id")]


def test_a_change_and_its_outbox_row_commit_together_and_a_refused_one_writes_neither(
        notify: Services, program_id: str) -> None:
    member = enrol_and_earn(notify, program_id)
    assert outbox_types(notify) == ["points.earned"]
    with pytest.raises(InsufficientPoints):
        notify.ledger.run(program_id, cmd.Redeem(member, 99_999))
    assert outbox_types(notify) == ["points.earned"]
    notify.ledger.run(program_id, cmd.Redeem(member, 1_000))
    assert outbox_types(notify) == ["points.earned", "points.redeemed"]


def test_a_delivery_is_signed_per_standard_webhooks_and_logged(
        notify: Services, api: Api, program_id: str, receiver: Receiver) -> None:
    sub = subscribe(api, program_id, receiver.url, ["points.earned"])
    member = enrol_and_earn(notify, program_id)
    report = notify.dispatcher.run()
    assert (report.delivered, report.dead) == (1, 0)
    [got] = receiver.received
    payload = Webhook(sub["secret"]).verify(got.body, got.headers)  # raises if the signature is wrong
    assert payload["type"] == "points.earned"
    assert payload["data"]["member_id"] == member and payload["data"]["points"] == 2_500
    log = api.get(f"/v1/programs/{program_id}/webhooks/{sub['id']}/deliveries").json()["items"]
    assert [(d["id"], d["status"], d["attempts"], d["last_status"]) for d in log] == [
        (got.headers["webhook-id"], "delivered", 1, 200)]
    assert notify.dispatcher.run().delivered == 0  # delivered once: nothing left to send


def test_a_receiver_that_is_down_gets_it_later_under_the_same_id_then_it_dies_and_is_redelivered(
        notify: Services, api: Api, program_id: str, receiver: Receiver, clock: FixedClock) -> None:
    subscribe(api, program_id, receiver.url, ["points.earned"])
    enrol_and_earn(notify, program_id)
    receiver.status = 503
    assert notify.dispatcher.run().retrying == 1
    assert notify.dispatcher.run().retrying == 0  # not due yet: backoff
    clock.advance(seconds=30)
    assert notify.dispatcher.run().retrying == 1  # second try, the next one 60 s later
    clock.advance(seconds=60)
    assert notify.dispatcher.run().dead == 1  # the third and last try
    [dead] = api.get(f"/v1/programs/{program_id}/deliveries", status="dead").json()["items"]
    assert dead["attempts"] == 3 and dead["last_status"] == 503
    receiver.status = 200
    again = api.post(f"/v1/programs/{program_id}/deliveries/{dead['id']}/redeliver", key="redeliver-1")
    assert again.status_code == 200 and again.json()["status"] == "pending"
    assert notify.dispatcher.run().delivered == 1
    assert {r.headers["webhook-id"] for r in receiver.received} == {dead["id"]}  # one id for every try
    assert len(receiver.received) == 4


def test_a_killed_dispatcher_loses_nothing(notify: Services, api: Api, program_id: str, receiver: Receiver) -> None:
    subscribe(api, program_id, receiver.url)
    enrol_and_earn(notify, program_id)
    dispatcher = Dispatcher(notify.db, notify.data_keys, notify.notification_settings, notify.clock)

    def die(*_: object) -> None:
        raise KeyboardInterrupt  # the process killed after sending, before recording it

    dispatcher._record = die  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        dispatcher.run()
    assert notify.dispatcher.run().delivered == 1  # sent again: at least once, never lost
    first, again = receiver.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"]  # the receiver sees a duplicate
    assert notify.dispatcher.run().delivered == 0


def test_rotation_signs_with_both_secrets_during_the_overlap(
        notify: Services, api: Api, program_id: str, receiver: Receiver) -> None:
    sub = subscribe(api, program_id, receiver.url)
    rotated = api.post(f"/v1/programs/{program_id}/webhooks/{sub['id']}/rotate-secret", {"overlap_seconds": 3600})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != sub["secret"] and rotated.json()["previous_secret_until"]
    enrol_and_earn(notify, program_id)
    notify.dispatcher.run()
    got = receiver.received[0]
    Webhook(sub["secret"]).verify(got.body, got.headers)
    Webhook(new).verify(got.body, got.headers)


@pytest.mark.parametrize(("url", "why"), [
    ("http://shop.example/hooks", "https"),
    ("https://169.254.169.254/latest/meta-data", "not a public address"),
])
def test_a_subscription_that_could_reach_inside_is_refused_at_its_url(
        api: Api, program_id: str, url: str, why: str) -> None:
    """The API's answer; every case of the guard is in test_addresses.py."""
    response = api.post(f"/v1/programs/{program_id}/webhooks", {"url": url})
    body = assert_problem(response, 422, "validation-error")
    assert body["field"] == "url" and why in body["detail"]


def test_unknown_event_types_are_refused_at_the_field(api: Api, program_id: str) -> None:
    response = api.post(f"/v1/programs/{program_id}/webhooks",
                        {"url": "http://127.0.0.1:9/x", "event_types": ["points.earnt"]})
    assert assert_problem(response, 422, "validation-error")["field"] == "event_types"


def test_a_receiver_that_hangs_is_cut_off_and_one_that_answers_a_huge_body_is_not_read_past_the_limit(
        notify: Services, api: Api, program_id: str, receiver: Receiver) -> None:
    subscribe(api, program_id, receiver.url)
    enrol_and_earn(notify, program_id)
    receiver.delay = 3.0
    started = time.monotonic()
    report = notify.dispatcher.run()
    assert report.retrying == 1 and time.monotonic() - started < 2.5
    [pending] = notify.webhooks.deliveries(program_id).items
    assert "no answer within 1 s" in pending["last_error"]
    receiver.delay, receiver.body_size = 0.0, 50 * 1024 * 1024
    notify.webhooks.redeliver(program_id, pending["id"])
    started = time.monotonic()
    assert notify.dispatcher.run().delivered == 1
    assert time.monotonic() - started < 2.0  # 50 MiB were offered; 64 KiB were read


def test_a_member_channel_gets_the_message_rendered_in_the_members_language(
        notify: Services, api: Api, program_id: str, receiver: Receiver) -> None:
    sub = subscribe(api, program_id, receiver.url, ["points.earned"], member_channel="push")
    member = enrol_and_earn(notify, program_id)
    chose = api.client.put(f"/v1/programs/{program_id}/members/{member}/notification-preferences",
                           json={"language": "en", "channels": {"points.earned": ["push"]}}, headers=api.headers())
    assert chose.status_code == 200, chose.text
    notify.ledger.run(program_id, cmd.Earn(member, money=Money(20_000, "KRW"), order_ref="order-2"))
    notify.dispatcher.run()
    bodies = [Webhook(sub["secret"]).verify(r.body, r.headers) for r in receiver.received]
    # Routed at dispatch: the member's choice then holds for both earns.
    first, second = [b["data"] for b in bodies]
    assert {first["channel"], second["channel"], first["language"], second["language"]} == {"push", "en"}
    assert first["message"]["subject"] == "[Talent market] You earned 2,500 points"
    assert second["message"]["text"].startswith("You earned 1,000 points.")


def test_checkpoints_reach_every_programs_subscribers(notify: Services, api: Api, program_id: str,
                                                      receiver: Receiver) -> None:
    sub = subscribe(api, program_id, receiver.url, ["checkpoint.signed"])
    enrol_and_earn(notify, program_id)
    notify.log.integrate()
    checkpoint = notify.log.sign()
    notify.dispatcher.run()
    [got] = receiver.received
    data = json.loads(got.body)["data"]
    assert data["size"] == checkpoint.size
    Webhook(sub["secret"]).verify(got.body, got.headers)


def test_a_tier_change_arrives_signed(notify: Services, api: Api, program_id: str, receiver: Receiver) -> None:
    from dangol.rules.loader import load_example

    sub = subscribe(api, program_id, receiver.url, ["tier.changed"])
    notify.tiers.use_ladder(program_id, load_example().tiers)
    member = enrol_and_earn(notify, program_id)
    notify.tiers.set_tier(program_id, member, "숲")
    assert notify.dispatcher.run().delivered == 1  # the earn is not a type it wants
    [got] = receiver.received
    data = Webhook(sub["secret"]).verify(got.body, got.headers)["data"]
    assert (data["member_id"], data["from_tier"], data["to_tier"], data["reason"]) == (member, "새싹", "숲", "manual")


def test_delivered_deliveries_are_pruned_after_30_days_and_dead_letters_stay(
        notify: Services, api: Api, program_id: str, receiver: Receiver, clock: FixedClock) -> None:
    subscribe(api, program_id, receiver.url)
    member = enrol_and_earn(notify, program_id)
    notify.dispatcher.run()
    receiver.status = 500
    notify.ledger.run(program_id, cmd.Redeem(member, 1_000))
    for _ in range(3):
        notify.dispatcher.run()
        clock.advance(minutes=5)
    assert [d["status"] for d in notify.webhooks.deliveries(program_id).items] == ["delivered", "dead"]
    clock.advance(days=31)
    assert notify.dispatcher.run().pruned == 1  # the delivery; its outbox row stays a while longer
    assert [d["status"] for d in notify.webhooks.deliveries(program_id).items] == ["dead"]
    clock.advance(days=40)
    assert notify.dispatcher.run().pruned == 1  # the row of the delivered one; the dead letter's stays
    assert outbox_types(notify) == ["points.redeemed"]
