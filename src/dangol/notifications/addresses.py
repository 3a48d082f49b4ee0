"""Where webhooks may go: no server-side request forgery through a subscription.

A webhook URL is HTTPS. Plain HTTP is allowed only to a loopback host, and only when the
operator allows it (a test setup). Every address the host resolves to must be public:
loopback, private (RFC 1918, unique local), link-local (cloud metadata at 169.254.169.254),
multicast, reserved and unspecified addresses are refused unless the operator allows
private destinations explicitly. The check runs when a subscription is saved and again on
every delivery (a name may resolve elsewhere later)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..domain.errors import InvalidRequest

MAX_URL_LENGTH = 2000
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    allow_http_loopback: bool = False  # plain http://127.0.0.1 etc. (tests, a local receiver)
    allow_private: bool = False  # private, loopback and link-local addresses


class RefusedDestination(InvalidRequest):
    """A URL or address a webhook may not go to; `field` is the subscription's `url`."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, field="url")


@dataclass(frozen=True, slots=True)
class Destination:
    scheme: str
    host: str
    port: int


def _is_loopback_host(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: object, policy: DestinationPolicy) -> Destination:
    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL_LENGTH or not url.isprintable():
        raise RefusedDestination(f"a webhook URL is 1 to {MAX_URL_LENGTH} printable characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise RefusedDestination(f"not a URL: {error}") from None
    host = parts.hostname
    if not host or parts.username or parts.password:
        raise RefusedDestination("a webhook URL names a host, and no user or password")
    if parts.scheme == "http":
        if not (policy.allow_http_loopback and _is_loopback_host(host)):
            raise RefusedDestination("a webhook URL is https:// (plain http only to a loopback host, when the "
                                     "operator allows it)")
    elif parts.scheme != "https":
        raise RefusedDestination("a webhook URL is https://")
    return Destination(parts.scheme, host, port or (443 if parts.scheme == "https" else 80))


def check_addresses(destination: Destination, addresses: Iterable[str], policy: DestinationPolicy) -> None:
    """Refuses a destination whose host resolved to any address that is not public."""
    found = list(addresses)
    if not found:
        raise RefusedDestination(f"{destination.host} does not resolve")
    for text in found:
        address = ipaddress.ip_address(text.split("%")[0])
        if address.is_global and not address.is_multicast:
            continue
        if address.is_loopback and destination.scheme == "http" and policy.allow_http_loopback:
            continue
        if policy.allow_private and not (address.is_multicast or address.is_unspecified):
            continue
        raise RefusedDestination(f"{destination.host} resolves to {address}, which is not a public address")
