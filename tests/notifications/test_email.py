"""E-mail against real SMTP servers in process (aiosmtpd): the expiry warning in Korean 7 days
ahead with its one-click unsubscribe, a server that refuses (a bounce marks the address), one
that times out (tried again), marketing only with consent, nothing for an erased member, and
templates refused at save time with their line."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from email.header import decode_header, make_header
from email.message import Message

import pytest
from fastapi.testclient import TestClient

from dangol.api import create_app
from dangol.domain import commands as cmd
from dangol.domain.clock import FixedClock
from dangol.service.container import Services
from dangol.service.jobs.notices import expiry_warnings
from dangol.service.programs import Scope

from api.helpers import Api, assert_problem
from .conftest import Mailbox, notifying

ADDRESS = "minji@example.com"


@pytest.fixture
def notify(services: Services, clock: FixedClock, mailbox: Mailbox) -> Services:
    return notifying(services, clock, smtp_port=mailbox.port, timeout=1.0)  # type: ignore[attr-defined]


@pytest.fixture
def api(notify: Services, program_id: str) -> Iterator[Api]:
    token = notify.programs.create_api_key(program_id, {Scope.READ, Scope.WRITE, Scope.PERSONAL}, "test")[1]
    with TestClient(create_app(notify)) as client:
        yield Api(client, token)


def member_with_points(services: Services, program_id: str, points: int = 3_200, address: str = ADDRESS) -> str:
    member = str(services.ledger.run(program_id, cmd.Enroll("customer-1"))["member"]["id"])
    services.personal_data.update(program_id, member, {"email": address}, "test", "pd-1")
    services.ledger.run(program_id, cmd.Earn(member, points=points))  # expires a year on: 2027-01-01 09:00Z
    return member


def subject(message: Message) -> str:
    return str(make_header(decode_header(str(message["Subject"]))))


def text_part(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "utf-8")


def test_the_expiry_warning_arrives_in_korean_seven_days_ahead_and_unsubscribes_in_one_click(
        notify: Services, api: Api, program_id: str, mailbox: Mailbox, clock: FixedClock) -> None:
    member = member_with_points(notify, program_id)
    clock.set(datetime(2026, 12, 24, 9, 0, tzinfo=timezone.utc))  # 8 days ahead: not yet
    assert expiry_warnings(notify.db, program_id, clock.now())["members_warned"] == 0
    clock.set(datetime(2026, 12, 25, 9, 0, tzinfo=timezone.utc))  # 7 days ahead
    assert expiry_warnings(notify.db, program_id, clock.now())["members_warned"] == 1
    assert expiry_warnings(notify.db, program_id, clock.now())["members_warned"] == 0  # told once
    assert notify.dispatcher.run().delivered == 1
    [mail] = mailbox.messages
    assert mail["To"] == ADDRESS
    assert subject(mail) == "[Talent market] 3,200 포인트가 2027-01-01에 소멸됩니다"
    assert "3,200 포인트가 2027-01-01에 소멸될 예정입니다." in text_part(mail)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = str(mail["List-Unsubscribe"]).strip("<>")
    assert link.startswith("https://loyalty.example/v1/unsubscribe/")
    answer = api.client.post(link.removeprefix("https://loyalty.example"), content=b"List-Unsubscribe=One-Click")
    assert answer.status_code == 200 and answer.json() == {"unsubscribed": True, "kind": "points.expiring",
                                                          "channels": []}
    forged = api.client.post(link.removeprefix("https://loyalty.example")[:-4] + "AAAA")
    assert_problem(forged, 422, "validation-error")
    clock.set(datetime(2026, 12, 26, 9, 0, tzinfo=timezone.utc))
    notify.ledger.run(program_id, cmd.Earn(member, points=100, expires_at=datetime(2027, 1, 2, 9, 0, tzinfo=timezone.utc)))
    assert expiry_warnings(notify.db, program_id, clock.now())["members_warned"] == 1  # 2 January's
    assert notify.dispatcher.run().deliveries == 0  # unsubscribed: no e-mail


def test_the_expiry_date_is_the_members_own(notify: Services, program_id: str, mailbox: Mailbox,
                                            clock: FixedClock) -> None:
    member = member_with_points(notify, program_id)
    notify.ledger.run(program_id, cmd.Earn(member, points=500, expires_at=datetime(2026, 12, 31, 16, 0,
                                                                                   tzinfo=timezone.utc)))
    notify.profiles.update(program_id, member, {"time_zone": "Asia/Seoul"}, "profile-1")
    clock.set(datetime(2026, 12, 25, 9, 0, tzinfo=timezone.utc))
    assert expiry_warnings(notify.db, program_id, clock.now())["members_warned"] == 1  # one day in Seoul
    notify.dispatcher.run()
    assert subject(mailbox.messages[0]) == "[Talent market] 3,700 포인트가 2027-01-01에 소멸됩니다"


def test_a_refusing_server_is_a_bounce_that_marks_the_address(
        notify: Services, program_id: str, mailbox: Mailbox, clock: FixedClock) -> None:
    mailbox.refuse = "550 5.1.1 No such user"
    member_with_points(notify, program_id)
    clock.set(datetime(2026, 12, 25, 9, 0, tzinfo=timezone.utc))
    expiry_warnings(notify.db, program_id, clock.now())
    report = notify.dispatcher.run()
    assert (report.dead, report.retrying) == (1, 0)
    [dead] = notify.webhooks.deliveries(program_id, status="dead").items
    assert dead["last_status"] == 550 and "No such user" in dead["last_error"]
    mailbox.refuse = None
    clock.set(datetime(2026, 12, 27, 9, 0, tzinfo=timezone.utc))  # another day's warning: the address is marked
    notify.ledger.run(program_id, cmd.Earn(dead["member_id"], points=100,
                                           expires_at=datetime(2027, 1, 2, 9, 0, tzinfo=timezone.utc)))
    expiry_warnings(notify.db, program_id, clock.now())
    assert notify.dispatcher.run().dead == 1
    assert mailbox.messages == []
    assert "bounced" in notify.webhooks.deliveries(program_id, status="dead").items[-1]["last_error"]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers: an SMTP server that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_server_that_times_out_is_tried_again_later(
        services: Services, program_id: str, clock: FixedClock, silent_server: int) -> None:
    notify = notifying(services, clock, smtp_port=silent_server, timeout=0.5)
    member_with_points(notify, program_id)
    clock.set(datetime(2026, 12, 25, 9, 0, tzinfo=timezone.utc))
    expiry_warnings(notify.db, program_id, clock.now())
    report = notify.dispatcher.run()
    assert (report.retrying, report.dead, report.delivered) == (1, 0, 0)
    [pending] = notify.webhooks.deliveries(program_id).items
    assert pending["status"] == "pending" and "timed out" in pending["last_error"]


def test_marketing_goes_only_to_members_who_consented_and_nothing_to_an_erased_member(
        notify: Services, program_id: str, mailbox: Mailbox, clock: FixedClock) -> None:
    from dangol.service.notifications import outbox

    member = member_with_points(notify, program_id)
    offer = outbox.coupon_notice(program_id, member, "C-1", "welcome", "Welcome 10%", clock.now(),
                                 datetime(2026, 2, 1, tzinfo=timezone.utc))
    with notify.db.write() as conn:
        outbox.write(conn, [offer])
    assert notify.dispatcher.run().deliveries == 0  # no marketing consent: not even routed to e-mail
    notify.consents.change(program_id, member, {"marketing": True}, "api", "v1", None, "consent-1")
    with notify.db.write() as conn:
        outbox.write(conn, [offer])
    assert notify.dispatcher.run().delivered == 1
    assert subject(mailbox.messages[0]) == "[Talent market] 쿠폰이 발급되었습니다: Welcome 10%"
    notify.erasures.erase(program_id, member, "test", "erase-1")
    with notify.db.write() as conn:
        outbox.write(conn, [offer])
    notify.dispatcher.run()
    assert len(mailbox.messages) == 1  # the erased member gets nothing


def test_an_invalid_address_is_refused_at_its_field(api: Api, program_id: str, notify: Services) -> None:
    member = notify.ledger.run(program_id, cmd.Enroll("customer-1"))["member"]["id"]
    response = api.client.patch(f"/v1/programs/{program_id}/members/{member}/personal-data",
                                json={"email": "minji at example"}, headers=api.headers("pd-1"))
    assert assert_problem(response, 422, "validation-error")["field"] == "email"


def test_a_template_with_an_error_is_refused_when_saved_with_its_line(api: Api, program_id: str) -> None:
    path = f"/v1/programs/{program_id}/email-templates/points.expiring/ko"
    bad = {"subject": "{{ points | points }} 포인트 소멸 예정", "text": "안녕하세요\n{% if points %}\n{{ points }",
           "html": "<p>{{ points }}</p>"}
    response = api.client.put(path, json=bad, headers=api.headers())
    body = assert_problem(response, 422, "validation-error")
    assert (body["field"], body["line"]) == ("text", 3)
    good = {**bad, "text": "{{ points | points }} 포인트가 {{ expires_on }}에 소멸됩니다.\n"}
    saved = api.client.put(path, json=good, headers=api.headers())
    assert saved.status_code == 200 and saved.json()["built_in"] is False
    assert api.get(path).json()["text"] == good["text"]
    assert api.get(f"/v1/programs/{program_id}/email-templates/points.expiring/en").json()["built_in"] is True
