"""What the console's member page shows, read through the same services as the API."""

from __future__ import annotations

from typing import Any

from ...domain.errors import DomainError
from ...service.container import Services
from ...service.tiers import NoTierLadder


def member_view(services: Services, program_id: str, member_id: str) -> dict[str, Any]:
    """The member, balances, live lots, recent history, tier, coupons and challenges."""
    reader = services.reader
    member = {**reader.member(program_id, member_id), **reader.balance(program_id, member_id)}
    try:
        tier: dict[str, Any] | None = services.tiers.member_view(program_id, member_id)
    except (NoTierLadder, DomainError):
        tier = None
    return {
        "member": member, "history": reader.history(program_id, member_id, limit=50).items,
        "lots": reader.lots(program_id, member_id, limit=50).items, "tier": tier,
        "coupons": services.engagement.coupons(program_id, member_id),
        "challenges": services.engagement.challenges(program_id, member_id),
    }
