"""The review queue: flagged and held events, each released (held points made available
now) or reversed (the event's points taken back, a ledger transaction), once. Settling is
idempotent: the same decision again answers as the first did; the other one is refused.
Each settlement is written with its ledger transactions and its audit-log entry, in one
database transaction, with the review row locked (PostgreSQL; SQLite's write lock)."""

from __future__ import annotations

from typing import Any

from ...domain import commands as cmd
from ...domain.clock import Clock, SystemClock
from ...domain.errors import InvalidRequest
from ...fraud.errors import ReviewSettled, UnknownReview
from ...storage.database import Database
from ...storage.audit_repository import AuditRepository
from ...storage.events_repository import EventsRepository
from ...storage.fraud_repository import FraudRepository, Review
from ...storage.ledger_repository import LedgerRepository
from ..ledger import LedgerService, Operation
from ..reads import Page, _cursor
from ..receipts import iso

MAX_PAGE = 200
STATUSES = ("open", "released", "reversed")
RELEASED, REVERSED = "released", "reversed"


def review_json(review: Review) -> dict[str, Any]:
    return {"id": review.id, "member_id": review.member_id, "event_id": review.event_id, "action": review.action,
            "status": review.status, "points": review.points, "findings": review.findings,
            "created_at": iso(review.created_at), "resolved_at": iso(review.resolved_at) if review.resolved_at else None,
            "resolved_by": review.resolved_by, "resolution": review.resolution}


class FraudReviews:
    def __init__(self, db: Database, ledger: LedgerService, clock: Clock | None = None) -> None:
        self.db = db
        self.ledger = ledger
        self.clock = clock or SystemClock()

    def list(self, program_id: str, status: str | None = "open", *, cursor: str | None = None,
             limit: int = 50) -> Page:
        """Oldest first; `status` None lists every review."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
        if status is not None and status not in STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}")
        after = _cursor(cursor)
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            rows = FraudRepository(conn).reviews(program_id, status, after, limit + 1)
        return Page([review_json(r) for r in rows[:limit]], str(rows[limit - 1].id) if len(rows) > limit else None)

    def release(self, program_id: str, review_id: int, actor: str) -> dict[str, Any]:
        return self._settle(program_id, review_id, RELEASED, actor)

    def reverse(self, program_id: str, review_id: int, actor: str) -> dict[str, Any]:
        return self._settle(program_id, review_id, REVERSED, actor)

    def _settle(self, program_id: str, review_id: int, status: str, actor: str) -> dict[str, Any]:
        with self.db.write() as conn:
            LedgerRepository(conn).get_program(program_id)
            repo = FraudRepository(conn)
            review = repo.review(program_id, review_id, lock=True)
            if review is None:
                raise UnknownReview(f"no fraud review {review_id} in program {program_id}")
            if review.status == status:
                return review_json(review)  # settled so already: the same answer
            if review.status != "open":
                raise ReviewSettled(f"review {review_id} was {review.status} already", status=review.status)
            recorded = EventsRepository(conn).find_many(program_id, [review.event_id]).get(review.event_id)
            credited = [] if recorded is None else [
                (p["member_id"], int(p["transaction"]["id"])) for p in recorded.result["effects"]["points"]
                if p.get("transaction")]
            reason = f"fraud review {review_id}: {status}"
            outcomes = self.ledger.apply_in(conn, program_id, [
                Operation(cmd.SettleReview(member, txn, status == RELEASED, reason)) for member, txn in credited])
            transactions = [o["transaction"] for o in outcomes if isinstance(o, dict) and o.get("transaction")]
            now = self.clock.now()
            resolution = {"transactions": transactions, "points": sum(t["points"] for t in transactions)}
            repo.resolve(review_id, status, now, actor, resolution)
            AuditRepository(conn).record(program_id, review.member_id, "fraud.release" if status == RELEASED else "fraud.reverse",
                                          actor, now, {"review_id": review_id, "event_id": review.event_id,
                                                       "points": resolution["points"]})
            settled = repo.review(program_id, review_id)
            assert settled is not None
            return review_json(settled)
