"""Group commit: concurrent write requests judged together and committed once.

Most of what a write costs is paid once per transaction whatever it holds: the locks, the
program and the ids read, a statement per table, the commit (on PostgreSQL, a flush of its
log to disk). So a request does not get a transaction of its own. It joins a queue; while
one batch commits, the requests that arrive wait in the queue, and the next batch takes all
of them (up to `limit` operations or events), grouped by what they do and for which
program, each group judged and written in one transaction through the services' own batch
calls (`LedgerService.execute`, `EventService.record_many`). Those answer every item in its
place and run a batch again without an item that failed, so each request gets the answer it
would have had alone, and one request's failure (insufficient points, an invalid value, an
idempotency conflict) costs no other request anything. At low load a batch is a single
request, committed as soon as it arrives: nothing waits for company.

A group that fails as a whole (the database refusing, a bug) is not one request's fault:
its requests are then committed one by one, so that each gets its own answer or error.

The queue is drained by one thread at a time. On SQLite that is the writer thread, which
also runs the other writes (`WriteLane.run`) in the same queue, in arrival order: SQLite
writes one transaction at a time anyway."""

from __future__ import annotations

import contextvars
import functools
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, Literal

from ..domain.errors import DomainError
from ..service.container import Services
from ..service.events import EventInput
from ..service.ledger import Operation

Outcome = dict[str, Any] | DomainError
GROUP_LIMIT = 1_000  # operations or events in one transaction: about what `dangol events send` puts in one


@dataclass(eq=False, slots=True)
class _Call:
    """A write that is not coalesced: run alone, in its turn."""

    run: Callable[[], Any]
    future: Future[Any] = field(default_factory=Future)


@dataclass(eq=False, slots=True)
class _Write:
    """A request's operations (`kind` "ledger") or events ("events") for a program."""

    kind: Literal["ledger", "events"]
    program_id: str
    items: Sequence[Operation] | Sequence[EventInput]
    future: Future[list[Outcome]] = field(default_factory=Future)


class GroupCommit:
    def __init__(self, services: Services, executor: Executor, limit: int = GROUP_LIMIT) -> None:
        self.services = services
        self.executor = executor
        self.limit = limit
        self._queue: deque[_Call | _Write] = deque()
        self._mutex = threading.Lock()
        self._draining = False

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def call(self, run: Callable[[], Any]) -> Future[Any]:
        """`run()` in the queue's order, alone, in the caller's context (its program's clock)."""
        request = _Call(functools.partial(contextvars.copy_context().run, run))
        self._enqueue(request)
        return request.future

    def ledger(self, program_id: str, operations: Sequence[Operation]) -> Future[list[Outcome]]:
        """Each operation's receipt, or its error, in place."""
        request = _Write("ledger", program_id, operations)
        self._enqueue(request)
        return request.future

    def events(self, program_id: str, events: Sequence[EventInput]) -> Future[list[Outcome]]:
        """Each event's result, or its error, in place."""
        request = _Write("events", program_id, events)
        self._enqueue(request)
        return request.future

    def _enqueue(self, request: _Call | _Write) -> None:
        with self._mutex:
            self._queue.append(request)
            if self._draining:
                return  # the batch in flight takes it next
            self._draining = True
        try:
            self.executor.submit(self._drain)
        except BaseException:
            with self._mutex:
                self._draining = False
            raise

    def _drain(self) -> None:
        while True:
            with self._mutex:
                if not self._queue:
                    self._draining = False
                    return
                batch = self._take()
            try:
                self._commit(batch)  # settles every request, errors included
            except BaseException as error:  # the thread itself is going down: whoever waits must hear of it
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(error)
                with self._mutex:
                    self._draining = False
                raise

    def _take(self) -> list[_Call | _Write]:
        """The queue's head, up to `limit` items (a request is never split)."""
        taken: list[_Call | _Write] = []
        size = 0
        while self._queue:
            request = self._queue[0]
            weight = len(request.items) if isinstance(request, _Write) else 1
            if taken and size + weight > self.limit:
                break
            taken.append(self._queue.popleft())
            size += weight
        return taken

    def _commit(self, batch: list[_Call | _Write]) -> None:
        # Groups keep their requests in arrival order; a group runs where its first request
        # came (requests that overlap in time have no order of their own to keep).
        groups: dict[tuple[str, str], list[_Write]] = {}
        steps: list[_Call | list[_Write]] = []
        for request in batch:
            if not request.future.set_running_or_notify_cancel():
                continue  # its caller gave up before it started: nothing to do
            if isinstance(request, _Call):
                steps.append(request)
                continue
            group = groups.get((request.kind, request.program_id))
            if group is None:
                group = groups[(request.kind, request.program_id)] = []
                steps.append(group)
            group.append(request)
        for step in steps:
            if isinstance(step, _Call):
                _settle(step.future, step.run)
            else:
                self._commit_group(step)

    def _commit_group(self, group: list[_Write]) -> None:
        if len(group) == 1:
            _settle(group[0].future, lambda: self._write(group[0]))
            return
        try:
            outcomes = self._write(*group)
        except Exception:
            for request in group:  # each alone, to its own answer or error
                _settle(request.future, functools.partial(self._write, request))
            return
        start = 0
        for request in group:
            request.future.set_result(outcomes[start:start + len(request.items)])
            start += len(request.items)

    def _write(self, *group: _Write) -> list[Outcome]:
        """The group's requests in one transaction (they share kind and program)."""
        items: list[Any] = [item for request in group for item in request.items]
        program_id = group[0].program_id
        with self.services.clocks.scope(program_id):  # the drainer's thread is no request's: its program's time
            if group[0].kind == "ledger":
                return self.services.ledger.execute(program_id, items)
            return self.services.events.record_many(program_id, items)


def _settle(future: Future[Any], run: Callable[[], Any]) -> None:
    try:
        result = run()
    except BaseException as error:  # noqa: BLE001 - the caller's to handle, as if it had run it
        future.set_exception(error)
        if not isinstance(error, Exception):
            raise
        return
    future.set_result(result)
