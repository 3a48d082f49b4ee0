"""Erasing a member (GDPR Art. 17, PIPA's destruction) by crypto-shredding, and the
retention job that erases members a program no longer needs to keep.

One write transaction: the member's account is closed as the program's terms say (what is
left is forfeited by a ledger transaction, with its log entry, as any closure), then their
data key, personal rows, profile and its history, consents in force, referral code and log
key are destroyed and their customer reference is replaced wherever it was kept
(privacy/erasure.py). The ledger and the transparency log keep every row: `dangol check`
and `dangol verify` still pass. The erasure's receipt is stored: erasing again, under any
idempotency key, answers it; and the brand reads the receipts of erasures to erase the
member from its own systems.

On SQLite the transaction runs with `secure_delete`, so that deleted rows are overwritten,
and the write-ahead log is folded back and emptied afterwards: no old copy of a deleted
page stays in the files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ...domain import MemberStatus, TransactionKind
from ...domain import commands as cmd
from ...domain.clock import Clock, SystemClock
from ...domain.errors import DomainError, InvalidRequest, UnknownMember
from ...storage.audit_repository import AuditRepository
from ...storage.fraud_repository import FraudRepository
from ...storage.database import Database
from ...storage.facts_repository import FactsRepository
from ...storage.ledger_repository import LedgerRepository
from ...storage.notifications_repository import NotificationsRepository
from ...storage.privacy_repository import PrivacyRepository
from ..ledger import LedgerService, Operation, OperationFailed
from ..notifications import outbox
from ..reads import Page, _check_member, _cursor
from ..receipts import iso
from ..remembered import Remembered
from . import audit

MAX_PAGE = 200
ERASURE_REASON = "erasure"  # the forfeiture's reason: no one's words, nothing personal


class NotErased(UnknownMember):
    code = "unknown-erasure"
    title = "The member was not erased"


class ErasureService:
    def __init__(self, db: Database, ledger: LedgerService, clock: Clock | None = None) -> None:
        self.db = db
        self.ledger = ledger
        self.clock = clock or SystemClock()

    def erase(self, program_id: str, member_id: str, actor: str, idempotency_key: str | None = None) -> dict[str, Any]:
        """Erases the member; a member erased already gets the receipt of their erasure."""
        fresh = False
        with self.db.write() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            FactsRepository(conn).lock_members([member_id])  # a racing retry waits here, then finds the receipt
            remembered = Remembered(conn, program_id, idempotency_key, {"erase": member_id})
            previous = remembered.previous()
            if previous is not None:
                return dict(previous)
            repo = PrivacyRepository(conn)
            receipt = repo.erasure(member_id)
            if receipt is None:
                receipt = self._erase(conn, repo, program_id, member_id, actor)
                fresh = True
            answer = dict(remembered.remember(receipt, self.clock.now()))
        if fresh:
            self.db.fold_wal()
        return answer

    def _erase(self, conn: Any, repo: PrivacyRepository, program_id: str, member_id: str,
               actor: str) -> dict[str, Any]:
        session = self.ledger.session(conn, program_id)
        session.load([member_id], with_lots={member_id})  # locked, as every write of the member
        member = session.ledger(member_id).member
        closure: dict[str, Any] = {"transactions": [], "log": []}
        if member.status is not MemberStatus.CLOSED:
            try:
                [outcome] = session.apply([Operation(cmd.SetMemberStatus(member_id, MemberStatus.CLOSED,
                                                                         ERASURE_REASON))])
            except OperationFailed as failure:
                raise failure.error from None
            assert not isinstance(outcome, DomainError)
            session.flush()
            closure = outcome
        now = self.clock.now()
        repo.secure_delete(True)
        try:
            counts = repo.shred(program_id, member_id, member.external_ref)
            FraudRepository(conn).forget_member(program_id, member_id)  # hashed devices, cards, addresses
        finally:
            repo.secure_delete(False)
        forfeited = sum(t["points"] for t in closure["transactions"] if t["kind"] == TransactionKind.EXPIRE.value)
        receipt = {
            "member_id": member_id, "program_id": program_id, "erased_at": iso(now), "requested_by": actor,
            # Nested: the operator's check reads a top-level `log` as the entries of the
            # receipt's own idempotency key, which the forfeiture (no request's) does not name.
            "forfeiture": {"points": forfeited, "transactions": [t["id"] for t in closure["transactions"]],
                           "log": closure["log"]},
            "destroyed": {"data_key": counts["data_keys"] > 0, "personal_data": counts["personal_data"] > 0,
                          "profile": counts["profiles"] > 0, "profile_versions": counts["profile_history"],
                          "consents_in_force": counts["consents"], "log_key": counts["log_keys"] > 0},
            "rewritten": {"customer_reference": True, "events": counts["events"],
                          "stored_responses": counts["stored_responses"],
                          "transaction_reasons": counts["transaction_reasons"]},
        }
        repo.add_erasure(program_id, member_id, now, receipt)
        NotificationsRepository(conn).forget_member(member_id)
        outbox.write(conn, [outbox.erasure_notice(program_id, member_id, now)])
        AuditRepository(conn).record(program_id, member_id, audit.ERASE, actor, now, {"points_forfeited": forfeited})
        return receipt

    def receipt(self, program_id: str, member_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            found = PrivacyRepository(conn).erasure(member_id)
        if found is None:
            raise NotErased(f"member {member_id} was not erased")
        return found

    def erasures(self, program_id: str, *, cursor: str | None = None, limit: int = 50) -> Page:
        """The program's erasures, oldest first: the feed a brand follows (`next_cursor`) to
        erase the same members from its own systems."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
        after = _cursor(cursor)
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            rows = PrivacyRepository(conn).erasures(program_id, after, limit + 1)
        return Page([{"cursor": str(row_id), **receipt} for row_id, receipt in rows[:limit]],
                    str(rows[limit - 1][0]) if len(rows) > limit else None)


@dataclass
class RetentionReport:
    at: datetime
    programs: int = 0
    erased: list[str] = field(default_factory=list)
    audit_entries_removed: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"at": iso(self.at), "programs": self.programs, "members_erased": len(self.erased),
                "erased": self.erased, "audit_entries_removed": self.audit_entries_removed}


class RetentionJob:
    """Applies each program's retention rules: members closed `erase_after_closed_days` ago
    or more are erased (one transaction each: a crash loses nothing, a second run finds
    nothing left to do), audit entries older than `audit_log_days` are removed."""

    def __init__(self, db: Database, erasures: ErasureService, clock: Clock | None = None) -> None:
        self.db = db
        self.erasures = erasures
        self.clock = clock or SystemClock()

    def run(self, program_id: str | None = None) -> RetentionReport:
        now = self.clock.now()
        report = RetentionReport(now)
        with self.db.read() as conn:
            if program_id is not None:
                LedgerRepository(conn).get_program(program_id)
            policies = PrivacyRepository(conn).policies()
        for program, policy in sorted(policies.items()):
            if program_id is not None and program != program_id:
                continue
            report.programs += 1
            if policy.erase_after_closed_days is not None:
                cutoff = now - timedelta(days=policy.erase_after_closed_days)
                with self.db.read() as conn:
                    due = PrivacyRepository(conn).closed_before(program, cutoff + timedelta(microseconds=1))
                for member_id in due:
                    self.erasures.erase(program, member_id, audit.RETENTION_ACTOR)
                    report.erased.append(member_id)
            if policy.audit_log_days is not None:
                with self.db.write() as conn:
                    report.audit_entries_removed += AuditRepository(conn).forget_before(
                        program, now - timedelta(days=policy.audit_log_days), audit.PERSONAL_DATA_ACTIONS)
        return report
