"""The review queue: flagged and held events, each released (held points made available
now) or reversed (the event's points taken back, a ledger transaction), once. Settling is
idempotent: the same decision again answers as the first did; the other one is refused;
an Idempotency-Key is stored with the settlement (same key and request: the same answer;
another request: a conflict).
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
from ..notifications import outbox
from ..reads import Page, _cursor
from ..receipts import iso
from ..remembered import Remembered
from ..staff.audit import Actor, Change, record

MAX_PAGE = 200
STATUSES = ("open", "released", "reversed")
RELEASED, REVERSED = "released", "reversed"
# The audit log's actions of a settlement.
SETTLE_ACTIONS = {RELEASED: "fraud.release", REVERSED: "fraud.reverse"}


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

    def of_event(self, program_id: str, event_id: str) -> int | None:
        """The id of the review opened for the event, if any."""
        with self.db.read() as conn:
            return FraudRepository(conn).review_of_event(program_id, event_id)

    def release(self, program_id: str, review_id: int, actor: Actor, idempotency_key: str | None = None
                ) -> dict[str, Any]:
        return self._settle(program_id, review_id, RELEASED, actor, idempotency_key)

    def reverse(self, program_id: str, review_id: int, actor: Actor, idempotency_key: str | None = None
                ) -> dict[str, Any]:
        return self._settle(program_id, review_id, REVERSED, actor, idempotency_key)

    def _settle(self, program_id: str, review_id: int, status: str, actor: Actor,
                idempotency_key: str | None) -> dict[str, Any]:
        with self.db.write() as conn:
            LedgerRepository(conn).get_program(program_id)
            repo = FraudRepository(conn)
            review = repo.review(program_id, review_id, lock=True)
            if review is None:
                raise UnknownReview(f"no fraud review {review_id} in program {program_id}")
            # Read after the review's lock: a retry racing its original waits for it, then replays it.
            remembered = Remembered(conn, program_id, idempotency_key, {"fraud_review": review_id, "settle": status})
            previous = remembered.previous()
            if previous is not None:
                return dict(previous)
            if review.status == status:
                return dict(remembered.remember(review_json(review), self.clock.now()))  # settled so already
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
            repo.resolve(review_id, status, now, actor.name, resolution)
            record(conn, actor, Change(SETTLE_ACTIONS[status], program_id, review.member_id,
                                       before={"status": review.status}, after={"status": status},
                                       detail={"review_id": review_id, "event_id": review.event_id,
                                               "points": resolution["points"]}), now)
            outbox.write(conn, [outbox.review_settled_notice(program_id, review.member_id, review_id, status,
                                                             resolution["points"], now)])
            settled = repo.review(program_id, review_id)
            assert settled is not None
            return dict(remembered.remember(review_json(settled), now))
