"""The clock every service reads, per program.

Services are wired once with one clock (`ProgramClocks`). It answers the wall clock, except
inside a program's scope (`scope(program_id)`: entered by the API for every request naming a
program, by the CLI for a command's program, by the job runner for each program's run): for a
program in test mode it then answers that program's test clock, read once when the scope is
entered, so that a request sees one consistent `now`. The scope is a context variable of this
instance, so concurrent requests of other programs (other threads and tasks) are not affected."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from ...domain.clock import Clock
from ...storage.database import Database
from ...storage.test_clocks_repository import TestClocksRepository


class ProgramClocks:
    def __init__(self, db: Database, base: Clock) -> None:
        self.db, self.base = db, base
        self._pinned: ContextVar[datetime | None] = ContextVar(f"dangol-program-now-{id(self)}", default=None)
        # A program's mode is fixed at creation: once known, it is known for good.
        self._live: set[str] = set()

    def now(self) -> datetime:
        pinned = self._pinned.get()
        return pinned if pinned is not None else self.base.now()

    def known_live(self, program_id: str) -> bool:
        """True when the program is known to be live (no database read)."""
        return program_id in self._live

    def test_now(self, program_id: str) -> datetime | None:
        """The program's test clock; None for a live program (or no such program)."""
        if program_id in self._live:
            return None
        with self.db.read() as conn:
            repo = TestClocksRepository(conn)
            found = repo.now_of(program_id)
            if found is None and repo.is_program(program_id):
                self._live.add(program_id)
        return found

    def of(self, program_id: str) -> Clock:
        """The program's clock, as its jobs read it."""
        return _OfProgram(self, program_id)

    @contextmanager
    def scope(self, program_id: str) -> Iterator[None]:
        """`now()` is the program's time inside the block (the wall clock for a live program)."""
        with self.pinned(self.test_now(program_id)):
            yield

    def enter(self, program_id: str) -> None:
        """The program's scope for the rest of this context: a CLI command's, which names one
        program and ends with the process."""
        test_now = self.test_now(program_id)
        if test_now is not None:
            self._pinned.set(test_now)

    @contextmanager
    def pinned(self, moment: datetime | None) -> Iterator[None]:
        if moment is None:
            yield
            return
        token = self._pinned.set(moment)
        try:
            yield
        finally:
            self._pinned.reset(token)


class _OfProgram:
    def __init__(self, clocks: ProgramClocks, program_id: str) -> None:
        self.clocks, self.program_id = clocks, program_id

    def now(self) -> datetime:
        found = self.clocks.test_now(self.program_id)
        return found if found is not None else self.clocks.base.now()

