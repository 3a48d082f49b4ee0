"""The public program report (transparency/report.py), served from the stored log: the
same function an auditor runs on a mirror, over the entries of the latest checkpoint, so
the two agree figure for figure. A report of a size, once computed, never changes: each
program's builder is kept and only fed the entries added since."""

from __future__ import annotations

import base64
import threading
from typing import Any

from ..domain.errors import InvalidRequest
from ..storage.database import Database
from ..storage.log_report_reads import program_entries
from ..storage.log_repository import LogRepository
from ..transparency.entry import decode
from ..transparency.report import ReportBuilder
from .programs import ProgramService


class LogReportService:
    def __init__(self, db: Database, programs: ProgramService) -> None:
        self.db = db
        self.programs = programs
        self._built: dict[str, tuple[int, ReportBuilder]] = {}
        self._lock = threading.Lock()

    def report(self, program_id: str, period: str = "month") -> dict[str, Any]:
        if period != "month":
            raise InvalidRequest("period is 'month' (totals come with every report)")
        program = self.programs.get_program(program_id)  # UnknownProgram (404) for a name that is not one
        with self._lock, self.db.read() as conn:
            checkpoint = LogRepository(conn).latest_checkpoint()
            size = checkpoint.size if checkpoint else 0
            done, builder = self._built.get(program_id, (0, ReportBuilder(program_id)))
            if done > size:  # a database restored to an earlier state: start again
                done, builder = 0, ReportBuilder(program_id)
            for data in program_entries(conn, program_id, done, size):
                builder.add(decode(data))
            self._built[program_id] = (size, builder)
            body = builder.report(size).to_json()
        body["root_hash"] = base64.b64encode(checkpoint.root_hash).decode() if checkpoint else None
        if program.test_mode:
            # Not from any signed entry: a test program's figures are of simulated time, and say
            # so. A live program's report is exactly what an auditor recomputes from a mirror.
            body["livemode"] = False
        return body
