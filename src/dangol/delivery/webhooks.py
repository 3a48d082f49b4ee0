"""Webhook delivery with httpx, signed per the Standard Webhooks specification
(`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the `standardwebhooks` package.

While a subscription's secret is being rotated, each delivery carries a signature by the new
secret and one by the previous (space-separated, as the specification allows), so receivers
verify with either during the overlap.

A receiver is resolved and checked against the destination policy on every try (no request
to a private address, however its name resolves today), cut off after `timeout` seconds,
and its answer read to at most `max_response_bytes`; redirects are not followed (a redirect
could lead anywhere)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx
from standardwebhooks import Webhook

from ..domain.errors import InvalidRequest
from ..notifications.addresses import DestinationPolicy, check_addresses, check_url
from .attempt import Attempt

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})
    except socket.gaierror:
        return []


@dataclass(frozen=True)
class WebhookSettings:
    destinations: DestinationPolicy = field(default_factory=DestinationPolicy)
    timeout: float = 10.0
    max_response_bytes: int = 64 * 1024


def signature(secrets: Sequence[str], delivery_id: str, timestamp: datetime, body: bytes) -> str:
    return " ".join(Webhook(secret).sign(delivery_id, timestamp, body) for secret in secrets)


class WebhookSender:
    def __init__(self, settings: WebhookSettings | None = None, resolver: Resolver = resolve,
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.settings = settings or WebhookSettings()
        self.resolver = resolver
        # `webhook-timestamp` is when the request leaves (receivers refuse old ones): the wall
        # clock, even for a program whose own clock is a test clock.
        self.wall_clock = wall_clock

    def send(self, url: str, delivery_id: str, body: bytes, secrets: Sequence[str]) -> Attempt:
        settings = self.settings
        try:
            destination = check_url(url, settings.destinations)
            check_addresses(destination, self.resolver(destination.host, destination.port), settings.destinations)
        except InvalidRequest as refused:
            return Attempt(False, error=f"refused destination: {refused.detail}")
        sent_at = self.wall_clock()
        headers = {"content-type": "application/json", "webhook-id": delivery_id,
                   "webhook-timestamp": str(int(sent_at.timestamp())),
                   "webhook-signature": signature(secrets, delivery_id, sent_at, body),
                   "user-agent": "dangol-webhooks"}
        try:
            with httpx.Client(timeout=settings.timeout, follow_redirects=False, trust_env=False) as client:
                with client.stream("POST", url, content=body, headers=headers) as response:
                    read = 0
                    for chunk in response.iter_bytes():
                        read += len(chunk)
                        if read >= settings.max_response_bytes:
                            break  # the answer's body is not ours to keep: stop reading
                    status = response.status_code
        except httpx.TimeoutException:
            return Attempt(False, error=f"no answer within {settings.timeout:g} s")
        except httpx.HTTPError as error:
            return Attempt(False, error=f"{type(error).__name__}: {error}"[:500])
        if 200 <= status < 300:
            return Attempt(True, status)
        return Attempt(False, status, f"answered HTTP {status}")
