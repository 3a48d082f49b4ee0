"""What staff do to a member from the console, through the same ledger operations as the
API (adjust; suspend, reactivate, close), with the audit entry written in the operation's
own transaction (the ledger's `also` hook), and only when the operation is new: an action is
in the audit log if and only if it is in the books, once however often its form is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from ...domain import commands as cmd
from ...domain.errors import DomainError
from ...domain.member import MemberStatus
from ..ledger import LedgerService, Operation, Outcome
from ..reads import LedgerReader
from . import audit
from .audit import Actor, Change

MEMBER_ADJUST = "member.adjust"
STATUS_ACTIONS = {MemberStatus.SUSPENDED: "member.suspend", MemberStatus.ACTIVE: "member.reactivate",
                  MemberStatus.CLOSED: "member.close"}

# The receipt -> the audit entry's (before, after).
BeforeAfter = Callable[[dict[str, Any]], tuple[dict[str, Any] | None, dict[str, Any] | None]]


class StaffMemberActions:
    def __init__(self, ledger: LedgerService, reader: LedgerReader) -> None:
        self.ledger = ledger
        self.reader = reader

    def adjust(self, program_id: str, member_id: str, points: int, reason: str, actor: Actor,
               idempotency_key: str) -> dict[str, Any]:
        """Adds (or, negative, removes) points with a reason; answers the ledger's receipt."""

        def before_after(receipt: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
            after = receipt.get("balance")
            return (None if after is None else {**after, "available": after["available"] - points}), after

        return self._audited(program_id, member_id, cmd.Adjust(member_id, points, reason), idempotency_key, actor,
                             MEMBER_ADJUST, before_after, {"points": points, "reason": reason})

    def set_status(self, program_id: str, member_id: str, status: MemberStatus, reason: str | None, actor: Actor,
                   idempotency_key: str) -> dict[str, Any]:
        """Suspends, reactivates or closes (final: holds voided, points forfeited), as the API does."""
        previous = self.reader.member(program_id, member_id)["status"]

        def before_after(receipt: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
            forfeited = sum(-t["points"] for t in receipt.get("transactions", []) if t.get("points", 0) < 0)
            return {"status": previous}, {"status": receipt["member"]["status"], "forfeited": forfeited}

        return self._audited(program_id, member_id, cmd.SetMemberStatus(member_id, status, reason), idempotency_key,
                             actor, STATUS_ACTIONS[status], before_after, {"reason": reason})

    def _audited(self, program_id: str, member_id: str, command: cmd.Adjust | cmd.SetMemberStatus,
                 idempotency_key: str, actor: Actor, action: str, before_after: BeforeAfter,
                 detail: dict[str, Any]) -> dict[str, Any]:
        def audited(conn: Connection, outcomes: list[Outcome], new: list[bool]) -> None:
            receipt = outcomes[0]
            if isinstance(receipt, DomainError) or not new[0]:
                return  # a re-sent form (its key's receipt replayed) changed nothing: nothing to audit
            before, after = before_after(receipt)
            audit.record(conn, actor, Change(action, program_id, member_id, before, after,
                                             {**detail, "idempotency_key": idempotency_key}),
                         self.ledger.clock.now())

        outcome = self.ledger.execute(program_id, [Operation(command, idempotency_key)],
                                      stop_on_error=True, also=audited)[0]
        assert not isinstance(outcome, DomainError)
        return outcome
