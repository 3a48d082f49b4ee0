"""Notification fixtures: services that allow webhooks to loopback over plain HTTP, a real
HTTP receiver on 127.0.0.1 (a thread), and real SMTP servers in process (aiosmtpd)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from dangol.delivery.mail import SmtpSettings
from dangol.delivery.webhooks import WebhookSettings
from dangol.domain.clock import FixedClock
from dangol.notifications.addresses import DestinationPolicy
from dangol.notifications.retries import RetryPolicy
from dangol.service.container import Services
from dangol.service.notifications.settings import NotificationSettings

from api.conftest import admin, admin_token, client, member_id  # noqa: F401 (fixtures)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the receiver got, and how it answers: `status`, `delay` seconds, `body_size` bytes."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    body_size: int = 2


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            state.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if state.delay:
                time.sleep(state.delay)
            self.send_response(state.status)
            self.send_header("content-length", str(state.body_size))
            self.end_headers()
            try:
                chunk = b"x" * 65536
                left = state.body_size
                while left > 0:
                    self.wfile.write(chunk[:left])
                    left -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender stopped reading: what the test wants

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    yield state
    server.shutdown()
    server.server_close()


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts, or refuses recipients with `refuse`."""

    def __init__(self, refuse: str | None = None) -> None:
        self.messages: list[Message] = []
        self.refuse = refuse

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          options: list[str]) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port  # type: ignore[attr-defined]
    yield box
    controller.stop()


def notifying(services: Services, clock: FixedClock, smtp_port: int | None = None, timeout: float = 2.0,
              max_attempts: int = 3) -> Services:
    """`services` on the same database, with webhooks allowed to loopback over HTTP, short
    timeouts, and e-mail through the SMTP server on `smtp_port`."""
    settings = NotificationSettings(
        public_url="https://loyalty.example",
        webhooks=WebhookSettings(DestinationPolicy(allow_http_loopback=True), timeout=timeout,
                                 max_response_bytes=64 * 1024),
        smtp=None if smtp_port is None else SmtpSettings("127.0.0.1", smtp_port, sender="market@loyalty.example",
                                                         timeout=timeout),
        retry=RetryPolicy(max_attempts=max_attempts, jitter=0.0))
    return Services(services.db, clock, key_provider=services.key_provider, notification_settings=settings)
