"""The transactional outbox: a row for every change someone may need to hear about, written by
the change's own write step in its own database transaction (so a notice is never sent for a
change that rolled back, never lost for one that committed). Nothing here sends anything: the
dispatcher (dispatch.py) reads the rows later.

Each writer turns what it wrote into `Notice`s with a pure function here and calls `write`
(rows of a write path, in one bulk insert) or `write_once` (rows a job derives from the state
of things, whose event ids are keyed by what they tell, so a job run twice tells once)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from ...domain import MemberLedger, Transaction
from ...notifications.kinds import LEDGER_TYPES
from ...storage.notifications_repository import NotificationsRepository
from ..receipts import iso

EVERY_PROGRAM = "*"  # a notice for every program's subscribers (a checkpoint of the shared log)


@dataclass(frozen=True, slots=True)
class Notice:
    program_id: str
    type: str
    member_id: str | None
    payload: dict[str, Any]
    occurred_at: datetime
    key: str | None = None  # what the notice tells, for `write_once`
    event_id: str = field(default="")

    def row(self) -> tuple[str, str, str, str | None, str, datetime]:
        event_id = self.event_id or (keyed_event_id(self.key) if self.key else new_event_id())
        body = {"type": self.type, "program_id": self.program_id, **self.payload}
        return (event_id, self.program_id, self.type, self.member_id, orjson.dumps(body).decode(), self.occurred_at)


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


def keyed_event_id(key: str) -> str:
    return "evt_" + hashlib.sha256(key.encode()).hexdigest()[:32]


def write(conn: Connection, notices: Sequence[Notice]) -> None:
    if notices:
        NotificationsRepository(conn).add_outbox([n.row() for n in notices])


def write_once(conn: Connection, notices: Sequence[Notice]) -> int:
    """Notices keyed by what they tell; those already in the outbox are left out. Returns
    how many were new."""
    return NotificationsRepository(conn).add_outbox_once([n.row() for n in notices])


# ---------------------------------------------------------------- what each change tells

def transaction_notice(program_id: str, txn: Transaction) -> Notice:
    payload: dict[str, Any] = {"member_id": txn.member_id, "transaction_id": txn.id, "kind": txn.kind.value,
                               "points": txn.points, "occurred_at": iso(txn.occurred_at)}
    if txn.order_ref is not None:
        payload["order_ref"] = txn.order_ref
    if txn.counterparty_id is not None:
        payload["counterparty_id"] = txn.counterparty_id
    if txn.rule_id is not None:
        payload["rule_id"] = txn.rule_id
    # Transaction ids are unique and never reused: the event id follows from it, for nothing.
    return Notice(program_id, LEDGER_TYPES[txn.kind.value], txn.member_id, payload, txn.occurred_at,
                  event_id=f"evt_txn_{txn.id}")


def ledger_notices(ledgers: Iterable[MemberLedger]) -> list[Notice]:
    """A notice per ledger transaction the ledgers recorded and have not written yet."""
    return [transaction_notice(ledger.program.id, txn) for ledger in ledgers for txn in ledger.recorded.transactions]


def tier_notice(program_id: str, member_id: str, from_tier: str | None, to_tier: str, reason: str,
                at: datetime) -> Notice:
    return Notice(program_id, "tier.changed", member_id,
                  {"member_id": member_id, "from_tier": from_tier, "to_tier": to_tier, "reason": reason,
                   "at": iso(at)}, at)


def coupon_notice(program_id: str, member_id: str, code: str, template: str, name: str, issued_at: datetime,
                  expires_at: datetime) -> Notice:
    return Notice(program_id, "coupon.issued", member_id,
                  {"member_id": member_id, "code": code, "template": template, "name": name,
                   "issued_at": iso(issued_at), "expires_at": iso(expires_at),
                   "expires_on": expires_at.date().isoformat()}, issued_at)


def challenge_notice(program_id: str, member_id: str, challenge: str, period: str, at: datetime) -> Notice:
    return Notice(program_id, "challenge.completed", member_id,
                  {"member_id": member_id, "challenge": challenge, "period": period, "at": iso(at)}, at)


def erasure_notice(program_id: str, member_id: str, at: datetime) -> Notice:
    return Notice(program_id, "member.erased", member_id, {"member_id": member_id, "erased_at": iso(at)}, at)


def checkpoint_notice(size: int, root_hash: str, at: datetime) -> Notice:
    return Notice(EVERY_PROGRAM, "checkpoint.signed", None, {"size": size, "root_hash": root_hash,
                                                              "signed_at": iso(at)}, at)


def review_opened_notice(program_id: str, member_id: str, review_id: int, event_id: str, action: str, points: int,
                         at: datetime) -> Notice:
    """A screened event flagged or held for review; the review id keys the notice."""
    return Notice(program_id, "fraud.review_opened", member_id,
                  {"member_id": member_id, "review_id": review_id, "event_id": event_id, "action": action,
                   "points": points, "at": iso(at)}, at, event_id=f"evt_fraud_review_{review_id}")


def review_settled_notice(program_id: str, member_id: str, review_id: int, status: str, points: int,
                          at: datetime) -> Notice:
    """A review released or reversed (once: a review is settled at most once)."""
    return Notice(program_id, "fraud.review_settled", member_id,
                  {"member_id": member_id, "review_id": review_id, "status": status, "points": points,
                   "at": iso(at)}, at, event_id=f"evt_fraud_settled_{review_id}")
