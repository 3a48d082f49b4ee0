"""A year of the example program on a test clock, through the API, in minutes: the program
made in test mode (`--example market --test`), a member who buys, and the operator advancing
its clock. The expiry e-mail reaches the in-process SMTP server 7 days before the points
expire, in Korean, with their number and date; the tier change arrives as a signed webhook
that standardwebhooks' verifier accepts; a subscriber down for an hour of test time gets
everything afterwards, once per delivery id; a dispatcher killed mid-send loses nothing.
Every answer about the program says it is a test program."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from dangol.api import create_app
from dangol.domain.clock import FixedClock
from dangol.service.container import Services
from dangol.service.example_program import create_example_program
from dangol.service.notifications.dispatch import Dispatcher
from dangol.service.programs import Scope

from api.helpers import Api, assert_problem
from .conftest import Mailbox, Receiver, notifying
from .test_email import subject, text_part

EVENTS = "/v1/programs/market/events"


@pytest.fixture
def notify(services: Services, clock: FixedClock, mailbox: Mailbox) -> Services:
    # Enough tries that an hour's outage (backoff 30 s, 1, 2, 4 ... minutes) leaves the deliveries pending.
    return notifying(services, clock, smtp_port=mailbox.port, timeout=1.0, max_attempts=12)  # type: ignore[attr-defined]


@pytest.fixture
def operator(notify: Services) -> Iterator[Api]:
    with TestClient(create_app(notify)) as client:
        yield Api(client, notify.programs.create_api_key(None, {Scope.ADMIN}, "operator")[1])


def advance(operator: Api, key: str, **body: object) -> dict:
    answer = operator.post("/v1/programs/market/test-clock/advance", body, key=key)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Dangol-Livemode"] == "false"
    return dict(answer.json())


def expiry_mails(mailbox: Mailbox) -> list:
    return [m for m in mailbox.messages if "소멸" in subject(m)]


def test_a_year_of_the_example_program_on_a_test_clock(notify: Services, operator: Api, mailbox: Mailbox,
                                                       receiver: Receiver, clock: FixedClock) -> None:
    made = create_example_program(notify, "market", test_mode=True)  # `dangol programs create market --example market --test`
    assert made.program["livemode"] is False
    shop = Api(operator.client, notify.programs.create_api_key("market", {Scope.READ, Scope.WRITE, Scope.PERSONAL},
                                                               "shop")[1])
    sub = shop.post("/v1/programs/market/webhooks", {"url": receiver.url,
                                                     "event_types": ["points.earned", "tier.changed", "points.expired"]})
    assert sub.status_code == 201, sub.text
    secret = sub.json()["secret"]
    enrolled = shop.post("/v1/programs/market/members", {"external_ref": "mina"})
    assert enrolled.status_code == 201 and enrolled.headers["Dangol-Livemode"] == "false"
    mina = enrolled.json()["member"]["id"]
    assert operator.client.patch(f"/v1/programs/market/members/{mina}/personal-data", json={"email": "mina@example.com"},
                                 headers=shop.headers("pd-1")).status_code == 200

    # The wall clock goes on; the program's does not: its events happen at its own time.
    clock.set(datetime(2026, 3, 1, tzinfo=timezone.utc))
    bought = shop.post(EVENTS, {"event_id": "order-1", "type": "purchase", "member_id": mina, "order_id": "order-1",
                                "amount": {"amount": 400_000, "currency": "KRW"},
                                "items": [{"category": "video", "amount": 400_000}]})
    assert bought.status_code == 200, bought.text
    assert bought.json()["occurred_at"] == "2026-01-01T09:00:00Z"  # the program's creation
    first_points = shop.get(f"/v1/programs/market/members/{mina}/balance").json()["available"]
    assert first_points >= 20_000  # 5% of 400,000, and the launch week's bonuses

    # ---- the subscriber is down for an hour of test time: every try fails, nothing dies
    receiver.status = 503
    assert advance(operator, "down", by="PT1H")["now"] == "2026-01-01T10:00:00Z"
    failed = {r.headers["webhook-id"] for r in receiver.received}
    assert failed and len(receiver.received) > len(failed)  # retried, under the same ids
    receiver.status, receiver.received[:] = 200, []
    advance(operator, "up", by="P1D")
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert set(failed) <= set(ids) and Counter(ids).most_common(1)[0][1] == 1  # everything, once per delivery id

    # ---- the tier change (새싹 -> 열매 on 400,000 of the quarter's spend), signed and verified
    bodies = [Webhook(secret).verify(r.body, r.headers) for r in receiver.received]
    [tier] = [b for b in bodies if b["type"] == "tier.changed"]
    assert tier["data"]["member_id"] == mina and tier["data"]["to_tier"] == "열매", tier

    # ---- a dispatcher killed after sending, before recording: the delivery is sent again, same id
    receiver.received[:] = []
    again = shop.post(EVENTS, {"event_id": "order-2", "type": "purchase", "member_id": mina, "order_id": "order-2",
                               "amount": {"amount": 10_000, "currency": "KRW"},
                               "items": [{"category": "video", "amount": 10_000}]})
    assert again.status_code == 200, again.text
    killed = Dispatcher(notify.db, notify.data_keys, notify.notification_settings, notify.clocks)

    def die(*_: object) -> None:
        raise KeyboardInterrupt

    killed._record = die  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        killed.run(datetime.fromisoformat(operator.get("/v1/programs/market/test-clock").json()["now"]),
                   program_id="market")
    advance(operator, "after-kill", by=60)
    first, resent = receiver.received
    assert first.headers["webhook-id"] == resent.headers["webhook-id"]
    advance(operator, "quiet", by="P1D")
    assert len(receiver.received) == 2  # recorded now: not sent a third time

    # ---- eight days before the first points expire (2027-01-01 09:00 UTC): no warning yet
    assert advance(operator, "dec-24", to="2026-12-24T09:00:00Z")["now"] == "2026-12-24T09:00:00Z"
    assert expiry_mails(mailbox) == []
    advance(operator, "dec-25", to="2026-12-25T09:00:00Z")  # seven days ahead
    [mail] = expiry_mails(mailbox)
    assert mail["To"] == "mina@example.com"
    assert f"{first_points:,} 포인트가 2027-01-01에 소멸됩니다" in subject(mail)
    assert f"{first_points:,} 포인트가 2027-01-01에 소멸될 예정입니다." in text_part(mail)

    # ---- the year is over: those points expire, and the subscriber hears of it
    receiver.received[:] = []
    advance(operator, "new-year", to="2027-01-01T10:00:00Z")
    balance = shop.get(f"/v1/programs/market/members/{mina}/balance").json()
    assert balance["available"] < first_points
    expired = [json.loads(r.body) for r in receiver.received if json.loads(r.body)["type"] == "points.expired"]
    assert sum(-e["data"]["points"] if e["data"]["points"] < 0 else e["data"]["points"] for e in expired) == first_points
    # told once of 1 January; the second order's points (bought a day later) had their own warning
    assert [subject(m).split("에 소멸")[0][-10:] for m in expiry_mails(mailbox)] == ["2027-01-01", "2027-01-02"]

    # ---- the clock never goes back; a live program has none; the report says "test"
    assert_problem(operator.post("/v1/programs/market/test-clock/advance", {"to": "2026-06-01T00:00:00Z"},
                                 key="back"), 422, "validation-error")
    assert operator.post("/v1/programs", {"id": "live-shop", "name": "Live", "currency": "KRW"},
                         key="live").status_code == 201
    assert_problem(operator.post("/v1/programs/live-shop/test-clock/advance", {"by": "P1D"}, key="live-1"),
                   409, "live-program")
    report = operator.client.get("/v1/log/report", params={"program": "market"})
    assert report.json()["livemode"] is False and report.headers["Dangol-Livemode"] == "false"
