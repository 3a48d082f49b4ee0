"""The operator's notification settings, from the environment (docs/notifications.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from ...delivery.mail import SmtpSettings
from ...delivery.webhooks import WebhookSettings
from ...notifications.addresses import DestinationPolicy
from ...notifications.retries import RetryPolicy


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class NotificationSettings:
    public_url: str = "http://127.0.0.1:8000"  # where unsubscribe links point
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    smtp: SmtpSettings | None = None  # None: e-mail deliveries wait until it is configured
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    keep: timedelta = timedelta(days=30)  # how long delivered deliveries (and their outbox rows) are kept

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotificationSettings:
        destinations = DestinationPolicy(allow_http_loopback=_flag(env, "DANGOL_WEBHOOKS_ALLOW_HTTP_LOOPBACK"),
                                         allow_private=_flag(env, "DANGOL_WEBHOOKS_ALLOW_PRIVATE"))
        webhooks = WebhookSettings(destinations, timeout=float(env.get("DANGOL_WEBHOOKS_TIMEOUT", "10")))
        return cls(public_url=env.get("DANGOL_PUBLIC_URL", cls.public_url).rstrip("/"), webhooks=webhooks,
                   smtp=SmtpSettings.from_env(env),
                   retry=RetryPolicy(max_attempts=int(env.get("DANGOL_DELIVERY_MAX_ATTEMPTS", "8"))),
                   keep=timedelta(days=int(env.get("DANGOL_DELIVERY_KEEP_DAYS", "30"))))
