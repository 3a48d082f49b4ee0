"""Redemptions and gifts screened by the ruleset's `redemption` and `gift` velocity rules,
beside the gifting check, inside the ledger's write step: once the member's ledger is
locked, before the operation is applied. Their history is the ledger itself (the member's
redeem and transfer transactions in the window, written or applied in this session), so
nothing is written here and a refused or failed operation leaves no trace.

A spend carries no device, IP or payment reference: only `per: member` rules count it.
Its action: `refuse` and `hold` both refuse it (points spent cannot be held pending a
review); `flag` lets it pass."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ...domain import commands as cmd
from ...fraud import Action, Kind, Per, Signal, decide, velocity_findings
from ...fraud.errors import FraudRefused
from ...rules import Ruleset
from ...storage.fraud_repository import FraudRepository

RulesetInForce = Callable[[Connection, str, datetime], Ruleset | None]
# The ledger kind of each screened spend, and the fraud kind its rules name.
SPENDS = {"redeem": Kind.REDEMPTION, "transfer": Kind.GIFT}


def spend_of(command: object) -> tuple[Kind, str, int] | None:
    """(kind, member, points) of a redemption or gift command; None for anything else."""
    if isinstance(command, cmd.Redeem):
        return Kind.REDEMPTION, command.member_id, command.points
    if isinstance(command, cmd.Transfer):
        return Kind.GIFT, command.member_id, command.points
    return None


class SpendingScreen:
    """Refuses (`FraudRefused`) a redemption or gift its velocity rules do not allow."""

    def __init__(self, rulesets: RulesetInForce) -> None:
        self.rulesets = rulesets

    def __call__(self, conn: Connection, program_id: str, command: object, at: datetime,
                 unwritten: Sequence[tuple[str, datetime, int]]) -> None:
        """`unwritten`: the member's (ledger kind, time, points) applied in this session and
        not yet written."""
        spend = spend_of(command)
        if spend is None:
            return
        kind, member_id, points = spend
        found = self.rulesets(conn, program_id, at)
        policy = found.fraud if found is not None else None
        rules = [r for r in policy.rules_for(kind) if r.per is Per.MEMBER] if policy is not None else []
        if not rules:
            return
        ledger_kind = next(k for k, v in SPENDS.items() if v is kind)
        since = at - timedelta(seconds=max(r.window_seconds for r in rules))
        spent = FraudRepository(conn).spends(program_id, member_id, ledger_kind, since)
        spent += [(when, p) for k, when, p in unwritten if k == ledger_kind and when > since]
        history = [Signal(when, member_id, kind, p) for when, p in spent]
        decision = decide(velocity_findings(rules, Signal(at, member_id, kind, points), history))
        if decision.action in (Action.REFUSE, Action.HOLD):
            raise FraudRefused("; ".join(f.reason for f in decision.findings if f.action is not Action.FLAG),
                               findings=[f.json() for f in decision.findings])
