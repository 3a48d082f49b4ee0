"""The expiry job: releases due pending lots, releases timed-out holds and expires lots,
as of a given time. It commits member by member in batches, so a crash loses at most a
batch that is then simply done again, and running it twice changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ..domain import Program, TransactionKind
from ..domain.accounts import Account
from ..domain.clock import Clock, SystemClock, as_utc
from ..domain.errors import InvalidRequest
from ..storage.database import Database
from ..storage.ids import BlockIdAllocator
from ..storage.ledger_repository import LedgerRepository
from .log_writer import LogWriter
from .notifications import outbox


@dataclass
class ExpiryReport:
    as_of: datetime
    members: int = 0
    expired_points: int = 0
    released_points: int = 0
    holds_released: int = 0
    transactions: int = 0
    programs: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"as_of": self.as_of.isoformat().replace("+00:00", "Z"), "members": self.members,
                "expired_points": self.expired_points, "released_points": self.released_points,
                "holds_released": self.holds_released, "transactions": self.transactions,
                "programs": self.programs}


class ExpiryJob:
    def __init__(self, db: Database, clock: Clock | None = None, batch_size: int = 500) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.batch_size = batch_size
        self.log = LogWriter()

    def run(self, program_id: str | None = None, as_of: datetime | None = None,
            progress: Callable[[int], None] | None = None) -> ExpiryReport:
        now = self.clock.now()
        as_of = as_utc(as_of) if as_of else now
        if as_of > now:
            raise InvalidRequest("expiry cannot run ahead of the clock")
        report = ExpiryReport(as_of)
        if program_id is None:
            with self.db.read() as conn:
                # every live program: a test program expires by its own clock, as it is advanced
                program_ids = [p.id for p in LedgerRepository(conn).list_programs() if not p.test_mode]
        else:
            program_ids = [program_id]
        for pid in program_ids:
            self._run_program(pid, as_of, now, report, progress)
            report.programs.append(pid)
        return report

    def settle(self, program_id: str, due: Mapping[str, datetime]) -> ExpiryReport:
        """Settles each of the members as of their own time (member id -> as of), in one
        transaction: what an expiry run did for them, done again (replay does, on its
        scratch ledger, as of the latest of what the run did for each)."""
        now = self.clock.now()
        report = ExpiryReport(max(due.values(), default=now))
        if any(as_utc(as_of) > now for as_of in due.values()):
            raise InvalidRequest("expiry cannot run ahead of the clock")
        with self.db.write() as conn:
            repo = LedgerRepository(conn)
            self._settle(repo, repo.get_program(program_id), due, now, report)
        report.members = len(due)
        return report

    def _run_program(self, program_id: str, as_of: datetime, now: datetime, report: ExpiryReport,
                     progress: Callable[[int], None] | None) -> None:
        after: str | None = None
        while True:
            with self.db.write() as conn:
                repo = LedgerRepository(conn)
                program = repo.get_program(program_id)
                member_ids = repo.members_with_due_work(program_id, as_of, after, self.batch_size)
                if not member_ids:
                    return
                self._settle(repo, program, dict.fromkeys(member_ids, as_of), now, report)
            report.members += len(member_ids)
            after = member_ids[-1]
            if progress:
                progress(len(member_ids))

    def _settle(self, repo: LedgerRepository, program: Program, due: Mapping[str, datetime], now: datetime,
                report: ExpiryReport) -> None:
        ledgers = repo.load_ledgers(program, list(due), with_lots=set(due))
        ids = BlockIdAllocator(repo.conn)
        for member_id, ledger in ledgers.items():
            for txn in ledger.settle(as_utc(due[member_id]), ids):
                report.transactions += 1
                if txn.kind is TransactionKind.EXPIRE:
                    report.expired_points += txn.delta_of(Account.EXPIRED)
                elif txn.kind is TransactionKind.RELEASE:
                    report.released_points += txn.points
                elif txn.kind is TransactionKind.VOID:
                    report.holds_released += 1
        repo.save(ledgers.values(), now)
        self.log.append(repo.conn, ledgers.values())  # its transactions are in the log like any other
        outbox.write(repo.conn, outbox.ledger_notices(ledgers.values()))  # and tell like any other
