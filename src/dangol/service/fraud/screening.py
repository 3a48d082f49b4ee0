"""Screening: the one call the events' decide step makes. It reads what the velocity
windows and rings need (the event's earlier signals, the program's fingerprint links),
decides with the pure core, and answers with the ledger operations to write: unchanged
(pass, flag), the earns credited as pending until `hold_days` from now (hold), or a
refusal raised. When writing, it records the event's signal, its fingerprints and, for
a flag or a hold, a review; in the caller's transaction, so a failure leaves none of it."""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ...domain import commands as cmd
from ...domain.errors import InvalidRequest
from ...fraud import Action, Decision, Finding, FraudPolicy, Kind, Per, Signal, decide, find_rings, velocity_findings
from ...fraud.errors import FraudRefused
from ...rules import Ruleset
from ...storage.fraud_repository import FraudRepository
from ..ledger import Operation
from ..notifications import outbox

if TYPE_CHECKING:
    from ..events import EventInput

# Event fields read as references: opaque to dangol, hashed again before they are stored.
REFERENCE_FIELDS = {"device": Per.DEVICE, "ip": Per.IP, "payment_ref": Per.PAYMENT}
ADDRESS_FIELD = "address"


@dataclass(frozen=True, slots=True)
class Screening:
    operations: list[Operation]
    decision: Decision
    review_id: int | None = None
    held_until: datetime | None = None  # a hold: the event's earns are pending until then

    def json(self) -> dict[str, Any] | None:
        """The event answer's `fraud` member; None when the event passed unremarked."""
        if self.decision.action is Action.PASS:
            return None
        return {**self.decision.json(), "review_id": self.review_id}


def reference(program_id: str, kind: str, value: str) -> str:
    """What is stored of a reference: a hash scoped to the program and kind, so the same
    device in two programs, or a device and a card that share a value, never match."""
    return hashlib.sha256(f"{program_id}\x00{kind}\x00{value}".encode()).hexdigest()


def references(program_id: str, event: EventInput) -> tuple[dict[Per, str], dict[str, str]]:
    """The event's velocity references and ring fingerprints (hashed). A raw IP address is
    refused: integrations send an opaque reference (a keyed hash), never the address."""
    fields = dict(event.fields)
    refs: dict[Per, str] = {}
    prints: dict[str, str] = {}
    for name, per in REFERENCE_FIELDS.items():
        value = fields.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise InvalidRequest(f"fields.{name} must be a string reference")
        if per is Per.IP and _is_address(value):
            raise InvalidRequest("fields.ip must be an opaque reference (e.g. a keyed hash of the address), "
                                 "never a raw IP address")
        refs[per] = reference(program_id, per.value, value)
        prints[per.value] = refs[per]
    address = fields.get(ADDRESS_FIELD)
    if isinstance(address, str) and address:
        prints["address"] = reference(program_id, "address", address)
    return refs, prints


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def screen(conn: Connection, program_id: str, event: EventInput, member_id: str, referrer: str | None,
           at: datetime, ruleset: Ruleset, operations: Sequence[Operation], *, write: bool) -> Screening:
    """Pass, flag, hold as pending, or refuse (raises FraudRefused) the event's operations."""
    policy = ruleset.fraud
    if policy is None:
        return Screening(list(operations), Decision(Action.PASS))
    refs, prints = references(program_id, event)
    kind = Kind.REFERRAL if event.type == "referral" else Kind.EARN
    points = sum(_points(op.command) for op in operations
                 if isinstance(op.command, cmd.Earn) and op.command.member_id == member_id)
    signal = Signal(at, member_id, kind, points, refs)
    repo = FraudRepository(conn)
    findings = _velocity(repo, program_id, policy, signal)
    linked = [f"{k}:{v}" for k, v in sorted(prints.items())
              if policy.rings is not None and k in policy.rings.share]
    pays_referrer = any(isinstance(op.command, cmd.Earn) and op.command.member_id == referrer for op in operations)
    if referrer is not None and policy.rings is not None and (kind is Kind.REFERRAL or pays_referrer):
        findings += _ring(repo, program_id, policy, member_id, referrer, linked)
    decision = decide(findings)
    if decision.action is Action.REFUSE:
        raise FraudRefused("; ".join(f.reason for f in decision.findings if f.action is Action.REFUSE),
                           findings=[f.json() for f in decision.findings])
    until = at + timedelta(days=policy.hold_days) if decision.action is Action.HOLD else None
    operations = [held(op, until) for op in operations]
    review_id = None
    if write:
        repo.add_signal(program_id, signal)
        if linked:
            repo.add_links(program_id, member_id, linked, at)
        if decision.action is not Action.PASS:
            review_id = repo.add_review(program_id, member_id, event.event_id, decision.action.value, points,
                                        [f.json() for f in decision.findings], at)
            outbox.write(conn, [outbox.review_opened_notice(program_id, member_id, review_id, event.event_id,
                                                            decision.action.value, points, at)])
    return Screening(operations, decision, review_id, until)


def held(operation: Operation, until: datetime | None) -> Operation:
    """An earn credited as pending until `until` (a held event's); anything else as it is."""
    if until is None or not isinstance(operation.command, cmd.Earn):
        return operation
    return dataclasses.replace(operation, command=dataclasses.replace(operation.command, available_at=until))


def _points(earn: cmd.Earn) -> int:
    """An event's earn gives its points by rule (their sum), or explicit points."""
    return earn.points if earn.points is not None else sum(part.points for part in earn.by_rule)


def _velocity(repo: FraudRepository, program_id: str, policy: FraudPolicy, signal: Signal) -> list[Finding]:
    rules = policy.rules_for(signal.kind)
    if not rules:
        return []
    since = signal.at - timedelta(seconds=max(r.window_seconds for r in rules))
    history = repo.signals(program_id, signal, [r.per for r in rules], since)
    return velocity_findings(rules, signal, history)


def _ring(repo: FraudRepository, program_id: str, policy: FraudPolicy, member_id: str, referrer: str,
          linked: list[str]) -> list[Finding]:
    assert policy.rings is not None
    kinds = tuple(f"{k}:" for k in policy.rings.share)
    links = repo.component(program_id, [member_id, referrer], linked, kinds)
    links += [(member_id, p) for p in linked]
    ring = find_rings(links, policy.rings.min_members).get(member_id, frozenset())
    if referrer not in ring:
        return []
    return [Finding("rings", policy.rings.action,
                    f"the referrer and the referred member are in one ring of {len(ring)} members "
                    f"sharing a {' or '.join(policy.rings.share)}")]
