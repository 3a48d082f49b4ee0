"""Test programs' clocks: the simulated now of each program in test mode."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from . import tables as t


class TestClocksRepository:
    __test__ = False  # not a pytest class

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def now_of(self, program_id: str) -> datetime | None:
        """The program's test clock, None for a live program (or no such program)."""
        return self.conn.execute(select(t.test_clocks.c.now).where(t.test_clocks.c.program_id == program_id)).scalar()

    def is_program(self, program_id: str) -> bool:
        return self.conn.execute(select(t.programs.c.id).where(t.programs.c.id == program_id)).first() is not None

    def move(self, program_id: str, now: datetime, at: datetime) -> None:
        self.conn.execute(update(t.test_clocks).where(t.test_clocks.c.program_id == program_id)
                          .values(now=now, advanced_at=at))

    def test_programs(self) -> list[str]:
        return list(self.conn.execute(select(t.test_clocks.c.program_id).order_by(t.test_clocks.c.program_id)).scalars())
