"""JSON shapes of what the service returns. A mutating call's receipt is stored with its
idempotency key and returned verbatim on a retry, so it is built from values only."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, overload

from ..domain import Balances, Hold, Member, PointLot, Program, Refund, Transaction
from ..domain.money import Money


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else _utc_iso(moment)


@lru_cache(maxsize=4096)
def _utc_iso(moment: datetime) -> str:
    """Cached because a batch formats the same few instants (its `now`, the expiry a year
    on) thousands of times. Equal instants in other zones share a cache entry, so the
    text is always that of the UTC instant."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def money_json(money: Money | None) -> dict[str, Any] | None:
    return None if money is None else {"amount": money.amount, "currency": money.currency}


def program_json(program: Program) -> dict[str, Any]:
    policy = program.policy
    return {
        "id": program.id, "name": program.name, "currency": program.currency,
        "created_at": iso(program.created_at),
        "livemode": not program.test_mode,
        "policy": {
            "lot_validity_days": policy.lot_validity_days, "min_redemption": policy.min_redemption,
            "allow_negative_balance": policy.allow_negative_balance, "allow_transfers": policy.allow_transfers,
            "hold_timeout_seconds": policy.hold_timeout_seconds,
            "earn_rate": {"points": policy.earn_rate.points, "per_minor_units": policy.earn_rate.per_minor_units},
            "rounding": policy.rounding.value,
        },
    }


def member_json(member: Member) -> dict[str, Any]:
    return {"id": member.id, "program_id": member.program_id, "external_ref": member.external_ref,
            "status": member.status.value, "enrolled_at": iso(member.enrolled_at)}


def transaction_json(txn: Transaction | None) -> dict[str, Any] | None:
    if txn is None:
        return None
    return {
        "id": txn.id, "kind": txn.kind.value, "member_id": txn.member_id, "points": txn.points,
        "occurred_at": iso(txn.occurred_at), "order_ref": txn.order_ref, "money": money_json(txn.money),
        "reason": txn.reason, "hold_id": txn.hold_id, "counterparty_id": txn.counterparty_id,
        "rule_id": txn.rule_id, "ruleset_hash": txn.ruleset_hash,
        "postings": [{"account": p.account.value, "member_id": p.member_id, "amount": p.amount, "rule_id": p.rule_id}
                     for p in txn.postings],
    }


@overload
def lot_json(lot: PointLot) -> dict[str, Any]: ...


@overload
def lot_json(lot: None) -> None: ...


def lot_json(lot: PointLot | None) -> dict[str, Any] | None:
    if lot is None:
        return None
    return {
        "id": lot.id, "source": lot.source.value, "amount": lot.amount, "remaining": lot.remaining,
        "state": "pending" if lot.is_pending else "available", "earned_at": iso(lot.earned_at),
        "available_at": iso(lot.available_at), "expires_at": iso(lot.expires_at), "order_ref": lot.order_ref,
        "transaction_id": lot.transaction_id,
    }


def hold_json(hold: Hold) -> dict[str, Any]:
    return {
        "id": hold.id, "member_id": hold.member_id, "points": hold.amount, "status": hold.status.value,
        "captured": hold.captured, "created_at": iso(hold.created_at), "expires_at": iso(hold.expires_at),
        "closed_at": iso(hold.closed_at), "order_ref": hold.order_ref,
    }


def balances_json(balances: Balances) -> dict[str, int]:
    return {"available": balances.available, "pending": balances.pending, "held": balances.held,
            "debt": balances.debt}


def refund_json(refund: Refund) -> dict[str, Any]:
    return {"order_ref": refund.order_ref, "money": money_json(refund.money), "clawed_back": refund.clawed_back,
            "uncollected": refund.uncollected, "transaction_id": refund.transaction_id,
            "recorded_at": iso(refund.recorded_at)}
