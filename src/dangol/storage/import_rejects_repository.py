"""The reasons `dangol import` refused events, by program and event id (docs/import.md).

They are written in the transaction of the batch that refused them, so whatever a killed
import committed, it committed with its rejects' reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from .bulk import fetch_rows, mark, one_of
from .ledger_repository import chunked
from .types import to_micros


@dataclass(frozen=True, slots=True)
class RememberedReject:
    event_id: str
    fingerprint: str  # of the event's content when it was refused
    code: str
    detail: str


class ImportRejectsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def remembered(self, program_id: str, event_ids: Sequence[str]) -> dict[str, RememberedReject]:
        found: dict[str, RememberedReject] = {}
        for chunk in chunked(list(event_ids)):
            matches, params = one_of(self.conn, "event_id", chunk)
            rows = fetch_rows(self.conn, f"SELECT event_id, fingerprint, code, detail FROM import_rejects "
                                         f"WHERE program_id = {mark(self.conn)} AND {matches}", (program_id, *params))
            found.update({row[0]: RememberedReject(*row) for row in rows})
        return found

    def remember(self, program_id: str, rejects: Sequence[RememberedReject], at: datetime) -> None:
        """A reject of an event refused before replaces the earlier one: the latest reason
        is the one that holds."""
        if not rejects:
            return
        m = mark(self.conn)
        self.conn.exec_driver_sql(
            f"INSERT INTO import_rejects (program_id, event_id, fingerprint, code, detail, rejected_at) "
            f"VALUES ({m}, {m}, {m}, {m}, {m}, {m}) ON CONFLICT (program_id, event_id) DO UPDATE SET "
            f"fingerprint = excluded.fingerprint, code = excluded.code, detail = excluded.detail, "
            f"rejected_at = excluded.rejected_at",
            [(program_id, r.event_id, r.fingerprint, r.code, r.detail, to_micros(at)) for r in rejects])
