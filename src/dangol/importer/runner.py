"""The importer: events from a file, in batches, through `LedgerService.execute`.

Every event is sent under the idempotency key `import:<event_id>`, and every batch is one
database transaction, with the reasons of the batch's rejects, so an import killed at any
moment leaves whole batches behind and running it again replays what was done (the stored
receipts) and completes the rest.

Events that were rejected by an earlier run of the same file are not retried when later
events of that file were applied since: a history applied out of order would give other
balances than the file describes. They are reported with the reason they were rejected
for. `retry_rejected` tries them again anyway."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection

from ..domain import MemberStatus, Money
from ..domain import commands as cmd
from ..domain.errors import DomainError, InvalidRequest, UnknownHold, UnknownMember
from ..service.container import Services
from ..service.fingerprint import fingerprint
from ..service.ledger import CLOCK_SKEW, Command, Operation, Outcome, new_member_id
from ..storage.import_rejects_repository import ImportRejectsRepository, RememberedReject
from ..storage.ledger_repository import CHUNK, LedgerRepository
from ..storage.statistics import refresh_stale_statistics
from .events import MAX_EVENT_ID, EventError, EventType, ImportEvent, event_key, parse_event
from .ordering import out_of_order
from .reader import EventFile, FileFormat, Record, detect_format

PREVIOUSLY_REJECTED = "previously-rejected"
MALFORMED = "malformed-event"
DUPLICATE_ID = "duplicate-event-id"
_STATUS = {EventType.SUSPEND: MemberStatus.SUSPENDED, EventType.REACTIVATE: MemberStatus.ACTIVE,
           EventType.CLOSE: MemberStatus.CLOSED}


@dataclass(frozen=True, slots=True)
class Reject:
    line: int
    event_id: str | None
    code: str
    detail: str
    earlier: bool = False  # rejected by an earlier import of the file, not retried by this one

    def __str__(self) -> str:
        event = f" (event {self.event_id})" if self.event_id else ""
        earlier = " (rejected by an earlier import)" if self.earlier and self.code != PREVIOUSLY_REJECTED else ""
        return f"line {self.line}{event}: {self.code}: {self.detail}{earlier}"


@dataclass
class ImportReport:
    path: str
    events: int = 0
    applied: int = 0
    replayed: int = 0  # already imported by an earlier run: their stored receipts came back
    duplicates: int = 0  # rows repeating an earlier row of the file, id and content
    rejected: int = 0
    batches: int = 0
    seconds: float = 0.0
    rejects: list[Reject] = field(default_factory=list)  # the first `max_reported`

    @property
    def ok(self) -> bool:
        return self.rejected == 0


@dataclass(slots=True)
class _Row:
    """One record of the file on its way through a batch."""

    line: int
    raw: dict[str, Any] | None
    event: ImportEvent | None = None
    content: str = ""  # the fingerprint of what it says, whatever its line
    first: bool = False  # the first row of the file with its event id
    duplicate: bool = False
    reject: Reject | None = None  # refused before the ledger saw it

    @property
    def event_id(self) -> str | None:
        event_id = self.raw.get("event_id") if self.raw else None
        return event_id if isinstance(event_id, str) and event_id else None


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
        seen = _FirstRows()
        pending: list[_Row] = []
        in_batch: set[str] = set()
        latest: datetime | None = None  # of the events accepted so far
        for record in source.records():
            report.events += 1
            row = _read(record, seen)
            hold = row.event.hold_event if row.event else None
            if hold is not None and hold in in_batch:
                # The hold's id exists only once its batch is written.
                latest = self._flush(pending, report, resume_line, latest)
                in_batch.clear()
            pending.append(row)
            if row.event:
                in_batch.add(row.event.event_id)
            if len(pending) >= self.batch_size:
                latest = self._flush(pending, report, resume_line, latest)
                in_batch.clear()
                if progress:
                    progress(source.bytes_read)
        self._flush(pending, report, resume_line, latest)
        if progress:
            progress(source.bytes_read)
        report.seconds = time.perf_counter() - started
        return report

    # ------------------------------------------------------------ batches

    def _flush(self, pending: list[_Row], report: ImportReport, resume_line: int,
               latest: datetime | None) -> datetime | None:
        """Writes the batch, with its rejects' reasons, and reports it; returns the latest
        time accepted once it is in."""
        if not pending:
            return latest
        rows = list(pending)
        pending.clear()
        candidates = [row for row in rows if row.event is not None and row.reject is None and not row.duplicate]
        stored, members, remembered = self._lookup(candidates, resume_line)
        now = self.services.clocks.now()
        operations: list[Operation] = []
        sent: list[_Row] = []
        enrolled: dict[str, str] = {}
        for row in candidates:
            event = _event(row)
            if event.key not in stored and event.line < resume_line:
                row.reject = _earlier_reject(row, remembered.get(event.event_id))
                continue
            if event.occurred_at > now + CLOCK_SKEW:
                row.reject = _reject(row, "validation-error", "occurred_at is in the future")
                continue
            try:
                command = self._command(event, stored, members, enrolled)
            except DomainError as error:
                row.reject = _reject(row, error.code, error.detail)
                continue
            operations.append(Operation(command, event.key, at=event.occurred_at))
            sent.append(row)
        times = [_event(row).occurred_at for row in sent]
        replays = {index for index, row in enumerate(sent) if _event(row).key in stored}
        decided = _rejects(rows, [], [])

        def screen(failed: Mapping[int, DomainError]) -> Mapping[int, DomainError]:
            return out_of_order(times, latest, failed, replays)

        def also(conn: Connection, outcomes: list[Outcome], _new: list[bool]) -> None:
            # Run on every attempt at the batch: the committed one's are what counts.
            nonlocal decided
            decided = _rejects(rows, sent, outcomes)
            self._remember(conn, decided)

        outcomes: list[Outcome] = []
        if operations:
            # History: a gift it records happened, whatever tier the ledger now says the sender had.
            outcomes = self.services.ledger.execute(self.program.id, operations, history=True, screen=screen,
                                                    also=also)
        elif any(_remembered(row, reject) for row, reject in decided):
            with self.services.db.write() as conn:
                self._remember(conn, decided)
        refresh_stale_statistics(self.services.db)
        report.batches += 1
        report.duplicates += sum(row.duplicate for row in rows)
        for row, outcome in zip(sent, outcomes):
            if isinstance(outcome, DomainError):
                continue
            event = _event(row)
            latest = event.occurred_at if latest is None else max(latest, event.occurred_at)
            if event.key in stored:
                report.replayed += 1
            else:
                report.applied += 1
            if event.type is EventType.HOLD:
                hold = outcome["hold"]
                self._holds[event.event_id] = (hold["id"], hold["member_id"])
            elif event.type in (EventType.CAPTURE, EventType.VOID):
                self._holds.pop(event.hold_event or "", None)
        for row, reject in decided:
            self._record_reject(report, reject, row.raw)
        if self.rejects_file is not None:
            self.rejects_file.flush()
        return latest

    def _lookup(self, batch: list[_Row], resume_line: int
                ) -> tuple[dict[str, Any], dict[str, str], dict[str, RememberedReject]]:
        """Receipts already stored under the batch's keys (and the holds it refers to), the
        member ids of the external references it names, and the reasons an earlier import
        rejected those of its events it will not retry."""
        events = [_event(row) for row in batch]
        keys = {event.key for event in events}
        keys |= {event_key(event.hold_event) for event in events
                 if event.hold_event and event.hold_event not in self._holds}
        refs = {event.member for event in events} | {event.to_member for event in events if event.to_member}
        with self.services.db.read() as conn:
            repo = LedgerRepository(conn)
            stored = {key: receipt for key, (_, receipt) in repo.idempotent_responses(
                self.program.id, sorted(keys)).items()}
            members = repo.member_ids_for_refs(self.program.id, sorted(refs))
            earlier = [event.event_id for event in events if event.line < resume_line and event.key not in stored]
            remembered = ImportRejectsRepository(conn).remembered(self.program.id, earlier) if earlier else {}
        return stored, members, remembered

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
        Runs import in order and commit batch by batch, each with its rejects' reasons, so
        what an earlier run did is a prefix of the file whose every event (by the first row
        with its id: a later row repeating an id is no event of its own) is in the ledger or
        among the remembered rejects: the scan stops at the first run of events none of
        which is either."""
        last = 0
        for chunk in _chunks(_first_ids(EventFile(path, fmt)), CHUNK):
            ids = [event_id for _, event_id in chunk]
            with self.services.db.read() as conn:
                stored = LedgerRepository(conn).idempotent_responses(self.program.id, [event_key(i) for i in ids])
                if not stored and not ImportRejectsRepository(conn).remembered(self.program.id, ids):
                    break
            last = max([last, *(line for line, event_id in chunk if event_key(event_id) in stored)])
        return last

    # ------------------------------------------------------------ rejects

    def _remember(self, conn: Connection, rejects: list[tuple[_Row, Reject]]) -> None:
        """The reasons of the batch's rejects, for a later import that will not retry them;
        those an earlier import gave are kept, and a row repeating an id names no event."""
        ImportRejectsRepository(conn).remember(self.program.id, [
            RememberedReject(reject.event_id, row.content, reject.code, reject.detail)
            for row, reject in rejects if reject.event_id and _remembered(row, reject)], self.services.clocks.now())

    def _record_reject(self, report: ImportReport, reject: Reject, raw: dict[str, Any] | None) -> None:
        report.rejected += 1
        if len(report.rejects) < self.max_reported:
            report.rejects.append(reject)
        if self.rejects_file is not None:
            self.rejects_file.write(json.dumps({
                "line": reject.line, "event_id": reject.event_id, "code": reject.code, "detail": reject.detail,
                "previously_rejected": reject.earlier, "event": raw}, ensure_ascii=False, default=str) + "\n")


class _FirstRows:
    """The line and content of the first row of each event id of the file, packed in one
    integer an id: about 135 bytes an id with its entry and a 12-character id (measured),
    so a file of a million events holds some 135 MB of them."""

    _CONTENT = (1 << 64) - 1

    def __init__(self) -> None:
        self._rows: dict[str, int] = {}

    def claim(self, event_id: str, line: int, content: str) -> tuple[int, bool] | None:
        """None when this row is the first with the id (it now names the event); else the
        first row's line and whether its content is the same (by 64 bits of fingerprint)."""
        digest = int(content[:16], 16)
        first = self._rows.get(event_id)
        if first is None:
            self._rows[event_id] = line << 64 | digest
            return None
        return first >> 64, first & self._CONTENT == digest


def _read(record: Record, seen: _FirstRows) -> _Row:
    """The record as an event, or why it is none: unreadable, malformed, or a repeat of an
    earlier row's id (the same content: a duplicate; other content: a conflict)."""
    raw = record.fields
    if raw is None:
        return _Row(record.line, None, reject=Reject(record.line, None, MALFORMED, record.error or "unreadable"))
    row = _Row(record.line, raw)
    error: EventError | None = None
    try:
        row.event = parse_event(record.line, raw)
        row.content = fingerprint(row.event.content)
    except EventError as failed:
        error = failed
        row.content = fingerprint(sorted((name, value) for name, value in raw.items() if value is not None
                                         and value != ""))
    event_id = row.event_id
    if event_id is not None:
        first = seen.claim(event_id, record.line, row.content)
        if first is None:
            row.first = True
        elif first[1]:
            row.duplicate = True
            return row
        else:
            row.reject = _reject(row, DUPLICATE_ID, f"line {first[0]} has the event id {event_id!r} with other "
                                                    "content; an event id names one event")
            return row
    if error is not None:
        row.reject = _reject(row, MALFORMED, str(error))
    return row


def _event(row: _Row) -> ImportEvent:
    assert row.event is not None  # only parsed rows get this far
    return row.event


def _reject(row: _Row, code: str, detail: str) -> Reject:
    return Reject(row.line, row.event_id, code, detail)


def _earlier_reject(row: _Row, remembered: RememberedReject | None) -> Reject:
    """An event an earlier import rejected, and then applied later events of the file: its
    original reason, if it was kept and the event is still what was rejected."""
    if remembered is not None and remembered.fingerprint == row.content:
        return Reject(row.line, row.event_id, remembered.code, remembered.detail, earlier=True)
    return Reject(row.line, row.event_id, PREVIOUSLY_REJECTED,
                  "an earlier import applied later events of this file but not this one (it was rejected then), "
                  "so applying it now would be out of order; --retry-rejected applies it anyway", earlier=True)


def _rejects(rows: list[_Row], sent: list[_Row], outcomes: list[Outcome]) -> list[tuple[_Row, Reject]]:
    """Every reject of the batch, in the file's order: those refused before it was sent,
    and those the ledger (or the ordering) refused."""
    refused = {id(row): _reject(row, outcome.code, outcome.detail)
               for row, outcome in zip(sent, outcomes) if isinstance(outcome, DomainError)}
    found = [(row, row.reject or refused.get(id(row))) for row in rows]
    return [(row, reject) for row, reject in found if reject is not None]


def _remembered(row: _Row, reject: Reject) -> bool:
    """Whether the reject's reason is kept: not when an earlier import gave it (that one
    is), nor for a row repeating an id (it names no event) or an id that cannot be one."""
    event_id = reject.event_id
    return (row.first and not reject.earlier and event_id is not None and len(event_id) <= MAX_EVENT_ID
            and event_id.isprintable())


def _required(value: int | None) -> int:
    assert value is not None  # parse_event made sure
    return value


def _first_ids(source: EventFile) -> Iterator[tuple[int, str]]:
    """(line, event id) of the first row with each id."""
    seen: set[str] = set()
    for record in source.records():
        event_id = record.fields.get("event_id") if record.fields else None
        if isinstance(event_id, str) and event_id and event_id not in seen:
            seen.add(event_id)
            yield record.line, event_id


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
