"""The importer: events from a file, in batches, through `LedgerService.execute`.

Every event is sent under the idempotency key `import:<event_id>`, and every batch is one
database transaction, so an import killed at any moment leaves whole batches behind and
running it again replays what was done (the stored receipts) and completes the rest.

Events that were rejected by an earlier run of the same file are not retried when later
events of that file were applied since: a history applied out of order would give other
balances than the file describes. `retry_rejected` tries them again anyway."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..domain import MemberStatus, Money
from ..domain import commands as cmd
from ..domain.errors import DomainError, InvalidRequest, UnknownHold, UnknownMember
from ..service.container import Services
from ..service.ledger import CLOCK_SKEW, Command, Operation, new_member_id
from ..storage.ledger_repository import CHUNK, LedgerRepository
from ..storage.statistics import refresh_stale_statistics
from .events import EventError, EventType, ImportEvent, event_key, parse_event
from .reader import EventFile, FileFormat, Record, detect_format

PREVIOUSLY_REJECTED = "previously-rejected"
MALFORMED = "malformed-event"
_STATUS = {EventType.SUSPEND: MemberStatus.SUSPENDED, EventType.REACTIVATE: MemberStatus.ACTIVE,
           EventType.CLOSE: MemberStatus.CLOSED}


@dataclass(frozen=True, slots=True)
class Reject:
    line: int
    event_id: str | None
    code: str
    detail: str

    def __str__(self) -> str:
        event = f" (event {self.event_id})" if self.event_id else ""
        return f"line {self.line}{event}: {self.code}: {self.detail}"


@dataclass
class ImportReport:
    path: str
    events: int = 0
    applied: int = 0
    replayed: int = 0  # already imported by an earlier run: their stored receipts came back
    rejected: int = 0
    batches: int = 0
    seconds: float = 0.0
    rejects: list[Reject] = field(default_factory=list)  # the first `max_reported`

    @property
    def ok(self) -> bool:
        return self.rejected == 0


@dataclass(slots=True)
class _Pending:
    event: ImportEvent
    raw: dict[str, Any]


class Importer:
    def __init__(self, services: Services, program_id: str, *, batch_size: int = 1_000,
                 max_reported: int = 20, rejects_file: IO[str] | None = None,
                 retry_rejected: bool = False) -> None:
        if not 1 <= batch_size <= 100_000:
            raise InvalidRequest("the batch size must be between 1 and 100000")
        self.services = services
        self.program = services.programs.get_program(program_id)
        self.batch_size = batch_size
        self.max_reported = max_reported
        self.rejects_file = rejects_file
        self.retry_rejected = retry_rejected
        self._holds: dict[str, tuple[int, str]] = {}  # hold event id -> (hold id, member id)

    def run(self, path: Path, file_format: str | None = None,
            progress: Callable[[int], None] | None = None) -> ImportReport:
        """Imports the file; `progress` is told the bytes read so far after every batch."""
        fmt = detect_format(path, file_format)
        started = time.perf_counter()
        report = ImportReport(str(path))
        resume_line = 0 if self.retry_rejected else self._resume_point(path, fmt)
        source = EventFile(path, fmt)
        pending: list[_Pending] = []
        in_batch: set[str] = set()
        latest = None
        for record in source.records():
            event = self._parse(record, report)
            if event is None:
                continue
            report.events += 1
            if latest is not None and event.event.occurred_at < latest:
                self._reject(report, event, "out-of-order", "occurred_at is earlier than the event before it; "
                             "events must be in chronological order")
                continue
            latest = event.event.occurred_at
            hold = event.event.hold_event
            if hold is not None and hold in in_batch:
                # The hold's id exists only once its batch is written.
                self._flush(pending, report, resume_line)
                in_batch.clear()
            pending.append(event)
            in_batch.add(event.event.event_id)
            if len(pending) >= self.batch_size:
                self._flush(pending, report, resume_line)
                in_batch.clear()
                if progress:
                    progress(source.bytes_read)
        self._flush(pending, report, resume_line)
        if progress:
            progress(source.bytes_read)
        report.rejects.sort(key=lambda reject: reject.line)
        report.seconds = time.perf_counter() - started
        return report

    # ------------------------------------------------------------ parsing

    def _parse(self, record: Record, report: ImportReport) -> _Pending | None:
        raw = record.fields
        if raw is None:
            report.events += 1
            self._record_reject(report, Reject(record.line, None, MALFORMED, record.error or "unreadable"), None)
            return None
        try:
            event = parse_event(record.line, raw)
        except EventError as error:
            report.events += 1
            event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
            self._record_reject(report, Reject(record.line, event_id, MALFORMED, str(error)), raw)
            return None
        return _Pending(event, raw)

    # ------------------------------------------------------------ batches

    def _flush(self, pending: list[_Pending], report: ImportReport, resume_line: int) -> None:
        if not pending:
            return
        batch = list(pending)
        pending.clear()
        stored, members = self._lookup(batch)
        now = self.services.clock.now()
        operations: list[Operation] = []
        sent: list[_Pending] = []
        enrolled: dict[str, str] = {}
        for item in batch:
            event = item.event
            replay = event.key in stored
            if not replay and event.line < resume_line:
                self._reject(report, item, PREVIOUSLY_REJECTED,
                             "an earlier import applied later events of this file but not this one (it was "
                             "rejected then), so applying it now would be out of order; --retry-rejected "
                             "applies it anyway")
                continue
            if event.occurred_at > now + CLOCK_SKEW:
                self._reject(report, item, "validation-error", "occurred_at is in the future")
                continue
            try:
                command = self._command(event, stored, members, enrolled)
            except DomainError as error:
                self._reject(report, item, error.code, error.detail)
                continue
            operations.append(Operation(command, event.key, at=event.occurred_at))
            sent.append(item)
        # History: a gift it records happened, whatever tier the ledger now says the sender had.
        outcomes = self.services.ledger.execute(self.program.id, operations, history=True) if operations else []
        refresh_stale_statistics(self.services.db)
        report.batches += 1
        for item, outcome in zip(sent, outcomes):
            if isinstance(outcome, DomainError):
                self._reject(report, item, outcome.code, outcome.detail)
                continue
            event = item.event
            if event.key in stored:
                report.replayed += 1
            else:
                report.applied += 1
            if event.type is EventType.HOLD:
                hold = outcome["hold"]
                self._holds[event.event_id] = (hold["id"], hold["member_id"])
            elif event.type in (EventType.CAPTURE, EventType.VOID):
                self._holds.pop(event.hold_event or "", None)

    def _lookup(self, batch: list[_Pending]) -> tuple[dict[str, Any], dict[str, str]]:
        """Receipts already stored under the batch's keys (and the holds it refers to),
        and the member ids of the external references it names."""
        keys = {item.event.key for item in batch}
        keys |= {event_key(item.event.hold_event) for item in batch
                 if item.event.hold_event and item.event.hold_event not in self._holds}
        refs = {item.event.member for item in batch} | {item.event.to_member for item in batch if item.event.to_member}
        with self.services.db.read() as conn:
            repo = LedgerRepository(conn)
            stored = {key: receipt for key, (_, receipt) in repo.idempotent_responses(
                self.program.id, sorted(keys)).items()}
            members = repo.member_ids_for_refs(self.program.id, sorted(refs))
        return stored, members

    def _command(self, event: ImportEvent, stored: dict[str, Any], members: dict[str, str],
                 enrolled: dict[str, str]) -> Command:
        kind = event.type
        if kind is EventType.ENROLL:
            # The id is chosen here, not by the service, so that later events of this
            # batch can name the member; a replay reuses the id its receipt recorded.
            receipt = stored.get(event.key)
            member_id = receipt["member"]["id"] if receipt and "member" in receipt else new_member_id()
            if event.member not in members:
                enrolled.setdefault(event.member, member_id)  # a second enrolment of it will be refused
            return cmd.Enroll(event.member, member_id=member_id)
        member_id = self._member(event.member, members, enrolled)
        if kind is EventType.EARN:
            return cmd.Earn(member_id, points=event.points, money=self._money(event), order_ref=event.order_ref,
                            available_at=event.available_at, expires_at=event.expires_at, reason=event.reason)
        if kind is EventType.REDEEM:
            return cmd.Redeem(member_id, _required(event.points), order_ref=event.order_ref, reason=event.reason)
        if kind is EventType.REVERSE:
            return cmd.Reverse(member_id, event.order_ref or "", refund=self._money(event), reason=event.reason)
        if kind is EventType.ADJUST:
            return cmd.Adjust(member_id, _required(event.points), event.reason or "", expires_at=event.expires_at)
        if kind is EventType.HOLD:
            return cmd.PlaceHold(member_id, _required(event.points), timeout_seconds=event.timeout_seconds,
                                 order_ref=event.order_ref)
        if kind in (EventType.CAPTURE, EventType.VOID):
            hold_id = self._hold(event, member_id, stored)
            if kind is EventType.CAPTURE:
                return cmd.CaptureHold(hold_id, points=event.points)
            return cmd.VoidHold(hold_id)
        if kind is EventType.TRANSFER:
            to_member = self._member(event.to_member or "", members, enrolled)
            return cmd.Transfer(member_id, to_member, _required(event.points), reason=event.reason)
        return cmd.SetMemberStatus(member_id, _STATUS[kind], reason=event.reason)

    def _member(self, ref: str, members: dict[str, str], enrolled: dict[str, str]) -> str:
        member_id = members.get(ref) or enrolled.get(ref)
        if member_id is None:
            raise UnknownMember(f"no member with reference {ref!r} in program {self.program.id}")
        return member_id

    def _hold(self, event: ImportEvent, member_id: str, stored: dict[str, Any]) -> int:
        hold_event = event.hold_event or ""
        found = self._holds.get(hold_event)
        if found is None:
            receipt = stored.get(event_key(hold_event))
            if receipt is None or "hold" not in receipt:
                raise UnknownHold(f"hold event {hold_event!r} was not imported")
            found = (receipt["hold"]["id"], receipt["hold"]["member_id"])
        if found[1] != member_id:
            raise UnknownHold(f"hold event {hold_event!r} is not a hold of member {event.member!r}")
        return found[0]

    def _money(self, event: ImportEvent) -> Money | None:
        if event.amount is None:
            return None
        return Money(event.amount, event.currency or self.program.currency)

    # ------------------------------------------------------------ resuming

    def _resume_point(self, path: Path, fmt: FileFormat) -> int:
        """The line of the last event of this file the ledger already holds, 0 if none.
        Runs import in order and commit batch by batch, so what an earlier run applied is
        a prefix of the file (less its rejects): the scan stops at the first run of
        events none of which is stored."""
        last = 0
        for chunk in _chunks(_event_ids(EventFile(path, fmt)), CHUNK):
            with self.services.db.read() as conn:
                stored = LedgerRepository(conn).idempotent_responses(
                    self.program.id, [key for _, key in chunk])
            if not stored:
                break
            last = max(line for line, key in chunk if key in stored)
        return last

    # ------------------------------------------------------------ rejects

    def _reject(self, report: ImportReport, item: _Pending, code: str, detail: str) -> None:
        self._record_reject(report, Reject(item.event.line, item.event.event_id, code, detail), item.raw)

    def _record_reject(self, report: ImportReport, reject: Reject, raw: dict[str, Any] | None) -> None:
        report.rejected += 1
        if len(report.rejects) < self.max_reported:
            report.rejects.append(reject)
        if self.rejects_file is not None:
            self.rejects_file.write(json.dumps({
                "line": reject.line, "event_id": reject.event_id, "code": reject.code, "detail": reject.detail,
                "event": raw}, ensure_ascii=False, default=str) + "\n")


def _required(value: int | None) -> int:
    assert value is not None  # parse_event made sure
    return value


def _event_ids(source: EventFile) -> Iterator[tuple[int, str]]:
    for record in source.records():
        event_id = record.fields.get("event_id") if record.fields else None
        if isinstance(event_id, str) and event_id:
            yield record.line, event_key(event_id)


def _chunks(items: Iterable[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_file(services: Services, program_id: str, path: Path, file_format: str | None = None, *,
                batch_size: int = 1_000, progress: Callable[[int], None] | None = None,
                rejects_file: IO[str] | None = None, retry_rejected: bool = False) -> ImportReport:
    importer = Importer(services, program_id, batch_size=batch_size, rejects_file=rejects_file,
                        retry_rejected=retry_rejected)
    return importer.run(path, file_format, progress)
