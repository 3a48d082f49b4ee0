"""What each portal page shows, read through the same services as the API (the numbers a
member sees are the API's numbers, never recomputed here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domain.errors import DomainError
from ...service.container import Services
from ...service.tiers import NoTierLadder
from .session import Visit


def N_(message: str) -> str:
    """Marks a message for the catalogs; it is translated where it is shown."""
    return message


# The ledger's transaction kinds, as a member reads them.
KINDS = {
    "earn": N_("Earned"), "redeem": N_("Redeemed"), "reverse": N_("Refund clawback"), "adjust": N_("Adjustment"),
    "expire": N_("Expired"), "transfer": N_("Gift"), "hold": N_("Held"), "capture": N_("Hold used"),
    "void": N_("Hold released"), "release": N_("Became available")
}


def program_time_zone(services: Services, program_id: str) -> str:
    """The program's time zone: its rules policy's default (UTC unless set)."""
    return str(services.rulesets.policy(program_id)["default_time_zone"])


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def home_view(services: Services, visit: Visit) -> dict[str, Any]:
    program = services.programs.get_program(visit.program_id)
    balance, expiring = services.reader.balance_and_expiring(visit.program_id, visit.member_id)
    return {
        "program": program, "balance": balance, "member": services.reader.member(visit.program_id, visit.member_id),
        "expiring": expiring, "tier": tier_view(services, visit),
        "challenges": services.engagement.challenges(visit.program_id, visit.member_id),
        "coupons": [c for c in services.engagement.coupons(visit.program_id, visit.member_id)
                    if c["state"] == "active"],
        "when": when,
    }


def tier_view(services: Services, visit: Visit) -> dict[str, Any] | None:
    try:
        view = services.tiers.member_view(visit.program_id, visit.member_id)
    except (NoTierLadder, DomainError):
        return None
    value = view["metric"]["value"]
    remaining = view["remaining"]
    target = value + remaining if view["next_tier"] is not None and remaining is not None else None
    now = when(view["at"])
    end = when(view["window"]["end"])
    return {**view, "target": target, "percent": 100 if not target else min(100, value * 100 // target),
            "days_left": None if end is None or now is None else max(0, (end - now).days)}


def history_view(services: Services, visit: Visit, cursor: str | None = None) -> dict[str, Any]:
    page = services.reader.history(visit.program_id, visit.member_id, cursor=cursor, limit=20)
    leaves = services.log.leaf_indices([item["id"] for item in page.items])
    items = [{**item, "leaf_index": leaves.get(item["id"]), "kind_label": KINDS.get(item["kind"], item["kind"])}
             for item in page.items]
    return {"program": services.programs.get_program(visit.program_id), "items": items,
            "next_cursor": page.next_cursor, "when": when}


def act_view(services: Services, visit: Visit) -> dict[str, Any]:
    program = services.programs.get_program(visit.program_id)
    profile = services.profiles.read(visit.program_id, visit.member_id)
    return {"program": program, "balance": services.reader.balance(visit.program_id, visit.member_id),
            "profile": profile, "min_redemption": program.policy.min_redemption, "member_id": visit.member_id}


def rules_view(services: Services, visit: Visit) -> dict[str, Any]:
    try:
        current: dict[str, Any] | None = services.rulesets.current(visit.program_id)
    except DomainError:
        current = None
    return {"program": services.programs.get_program(visit.program_id), "current": current,
            "upcoming": services.rulesets.upcoming(visit.program_id)["items"], "when": when}
