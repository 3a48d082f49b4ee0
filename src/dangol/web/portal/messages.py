"""The portal's Messages page: the member's language and, per kind of message, the channels
it comes on (NotificationPreferences, the API's member preferences). A marketing kind is
offered only to a member who allows marketing messages: without that consent nothing of
it is sent whatever the channels say, so the page says where to allow it instead."""

from __future__ import annotations

from typing import Any

from ...notifications.kinds import LANGUAGES, MESSAGE_KINDS, Channel
from ...privacy.consent import Purpose
from ...service.container import Services
from .forms import FormResult
from .session import Visit
from .views import N_

KIND_LABELS = {
    "points.earned": N_("Points earned"),
    "points.expiring": N_("Points about to expire"),
    "points.expired": N_("Points expired"),
    "tier.changed": N_("Tier changes"),
    "statement.monthly": N_("Monthly statement"),
    "coupon.issued": N_("New coupons and offers"),
}
CHANNEL_LABELS = {Channel.EMAIL: N_("E-mail"), Channel.PUSH: N_("Push"), Channel.SMS: N_("SMS"),
                  Channel.MESSENGER: N_("Messenger")}
LANGUAGE_LABELS = {"ko": "한국어", "en": "English"}
LANGUAGE_REQUIRED = N_("Choose a language.")


def _marketing_allowed(services: Services, visit: Visit) -> bool:
    return services.consents.allows(visit.program_id, visit.member_id, Purpose.MARKETING)


def messages_view(services: Services, visit: Visit) -> dict[str, Any]:
    chosen = services.notification_preferences.member(visit.program_id, visit.member_id)
    marketing = _marketing_allowed(services, visit)
    kinds = [{"name": name, "label": KIND_LABELS.get(name, name), "marketing": kind.marketing,
              "available": marketing or not kind.marketing, "channels": chosen["channels"][name]}
             for name, kind in sorted(MESSAGE_KINDS.items())]
    return {"program": services.programs.get_program(visit.program_id), "kinds": kinds,
            "channels": [(c.value, label) for c, label in CHANNEL_LABELS.items()],
            "languages": [(code, LANGUAGE_LABELS.get(code, code)) for code in LANGUAGES],
            "language": chosen["language"], "marketing": marketing}


def save_preferences(services: Services, visit: Visit, values: dict[str, str], result: FormResult,
                     chosen: dict[str, list[str]]) -> str | None:
    """The language, and the channels of every kind the member may get (a marketing kind
    without marketing consent keeps what it had: it is not on the form)."""
    language = values.get("language", "")
    if language not in LANGUAGES:
        result.errors["language"] = LANGUAGE_REQUIRED
        return None
    marketing = _marketing_allowed(services, visit)
    known = {c.value for c in Channel}
    channels = {name: sorted(set(chosen.get(name, [])) & known) for name, kind in MESSAGE_KINDS.items()
                if marketing or not kind.marketing}
    services.notification_preferences.set_member(visit.program_id, visit.member_id,
                                                 {"language": language, "channels": channels})
    return "messages"
