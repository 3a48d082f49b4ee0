"""The portal's Privacy page: the member's consent per purpose and the download of
everything the program holds of them, through the same services as the API (the same
consent history, the same export archive, the same audit log)."""

from __future__ import annotations

from typing import Any

from ...privacy.consent import Purpose
from ...service.container import Services
from ...service.privacy.audit import member_actor
from .forms import FormResult
from .session import Visit
from .views import N_, when

# The notice the member answers under: the purposes as this page words them (PURPOSES).
# Change the version whenever that wording changes, so the consent history says which
# wording each answer was given under.
NOTICE_VERSION = "portal-1"
# The purposes a member answers on this page, and what each means to them. The leaderboard
# is joined or left on the act page, which also asks for the display name it shows.
PURPOSES = {
    Purpose.MARKETING: (N_("Marketing messages"),
                        N_("Offers and coupons by e-mail, push, SMS or messenger.")),
    Purpose.PERSONALISATION: (N_("Personalisation"),
                              N_("Using your points history to suggest offers and to improve the program.")),
    Purpose.PARTNER_SHARING: (N_("Sharing with partners"),
                              N_("Giving your member number and points to the program's partner brands.")),
}
CHOICE_REQUIRED = N_("Choose yes or no.")


def privacy_view(services: Services, visit: Visit) -> dict[str, Any]:
    state = services.consents.state(visit.program_id, visit.member_id)["purposes"]
    purposes = [{"name": purpose.value, "label": label, "hint": hint, "granted": state[purpose.value]["granted"],
                 "record": state[purpose.value]["record"]} for purpose, (label, hint) in PURPOSES.items()]
    return {"program": services.programs.get_program(visit.program_id), "purposes": purposes,
            "leaderboard": state[Purpose.LEADERBOARD.value]["granted"], "when": when}


def change_consents(services: Services, visit: Visit, values: dict[str, str], result: FormResult,
                    key: str) -> str | None:
    """Records the answers the form sends (each purpose yes or no), channel `portal`, under
    this page's notice; an answer that changes nothing is not recorded again."""
    answers: dict[str, bool] = {}
    for purpose in PURPOSES:
        answer = values.get(purpose.value)
        if answer not in ("yes", "no"):
            result.errors[purpose.value] = CHOICE_REQUIRED
        else:
            answers[purpose.value] = answer == "yes"
    if result.errors:
        return None
    services.consents.change(visit.program_id, visit.member_id, answers, "portal", NOTICE_VERSION,
                             idempotency_key=key)
    return "consents"


def export_archive(services: Services, visit: Visit) -> bytes:
    """The member's archive (export.json and a CSV file per list), in the audit log first."""
    return services.exports.archive(visit.program_id, visit.member_id, member_actor(visit.member_id))
