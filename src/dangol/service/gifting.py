"""Gifting, a tier benefit: when the ladder in force declares `gifting` on some tier, a
member may transfer points only while in such a tier (the program's `allow_transfers`
must allow transfers at all). A ladder that declares it on no tier leaves transfers to
the policy alone.

The ledger service asks `GiftingCheck` before each transfer it applies live, inside its
write transaction and after it has locked both members' ledgers: a purchase that changes
the sender's tier locks the same ledger, so the tier read here is the one the transfer
happens under. Imported history (`LedgerService.execute(..., history=True)`) is not asked:
it records gifts that already happened."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..domain.errors import DomainError
from .tiers import TierService, TierSession


class GiftingNotAllowed(DomainError):
    code = "gifting-not-allowed"
    title = "The member's tier does not include gifting points"


class GiftingCheck:
    """Refuses a transfer from a member whose tier may not gift (`GiftingNotAllowed`)."""

    def __init__(self, tiers: TierService) -> None:
        self.tiers = tiers

    def __call__(self, conn: Connection, program_id: str, member_id: str, at: datetime) -> None:
        ladder = self.tiers.ladders(conn, program_id, at)
        if ladder is None or not ladder.gifting_tiers:
            return
        # Read only: the transfer changes no tier, and the session is not flushed.
        tier = TierSession(self.tiers, conn, program_id, write=False).tier_of(ladder, member_id, at)
        if not ladder.may_gift(tier):
            givers = ", ".join(ladder.gifting_tiers)
            raise GiftingNotAllowed(f"only members of tier {givers} may gift points; member {member_id} is {tier}",
                                    tier=tier, gifting_tiers=list(ladder.gifting_tiers))
