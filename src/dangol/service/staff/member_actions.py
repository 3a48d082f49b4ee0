"""What staff do to a member from the console, through the same ledger operations as the
API, with the audit entry written in the operation's own transaction (the ledger's `also`
hook): an adjustment is in the audit log if and only if it is in the books."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from ...domain import commands as cmd
from ...domain.errors import DomainError
from ..ledger import LedgerService, Operation, Outcome
from . import audit
from .audit import Actor, Change

MEMBER_ADJUST = "member.adjust"


class StaffMemberActions:
    def __init__(self, ledger: LedgerService) -> None:
        self.ledger = ledger

    def adjust(self, program_id: str, member_id: str, points: int, reason: str, actor: Actor,
               idempotency_key: str) -> dict[str, Any]:
        """Adds (or, negative, removes) points with a reason; answers the ledger's receipt."""

        def audited(conn: Connection, outcomes: list[Outcome], new: list[bool]) -> None:
            receipt = outcomes[0]
            if isinstance(receipt, DomainError) or not new[0]:
                return  # a re-sent form (its key's receipt replayed) changed nothing: nothing to audit
            after = receipt.get("balance")
            before = None if after is None else {**after, "available": after["available"] - points}
            audit.record(conn, actor, Change(MEMBER_ADJUST, program_id, member_id, before, after,
                                             {"points": points, "reason": reason,
                                              "idempotency_key": idempotency_key}),
                         self.ledger.clock.now())

        outcome = self.ledger.execute(program_id, [Operation(cmd.Adjust(member_id, points, reason), idempotency_key)],
                                      stop_on_error=True, also=audited)[0]
        assert not isinstance(outcome, DomainError)
        return outcome
