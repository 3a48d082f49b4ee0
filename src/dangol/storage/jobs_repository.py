"""Scheduled jobs' leases and runs, and what the notification jobs read (lots about to expire,
a month's movements)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from . import tables as t


@dataclass(frozen=True, slots=True)
class JobRun:
    id: int
    program_id: str
    job: str
    holder: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    summary: dict[str, Any] | None


class JobsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------ leases

    def acquire(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Takes the lease `name` until `until` if nobody holds it (or their lease ran out,
        or it is ours already). Atomic on both engines: an insert that does nothing on a
        conflict, then an update conditioned on the row as it is when updated."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        created = self.conn.execute(dialect.insert(t.job_leases).values(name=name, holder=holder, expires_at=until)
                                    .on_conflict_do_nothing(index_elements=["name"]).returning(t.job_leases.c.name))
        if created.first() is not None:
            return True
        leases = t.job_leases
        return bool(self.conn.execute(update(leases).where(and_(
            leases.c.name == name, or_(leases.c.expires_at <= now, leases.c.holder == holder)))
            .values(holder=holder, expires_at=until)).rowcount)

    def release(self, name: str, holder: str) -> None:
        leases = t.job_leases
        self.conn.execute(delete(leases).where(and_(leases.c.name == name, leases.c.holder == holder)))

    # ------------------------------------------------------------ runs

    def start_run(self, program_id: str, job: str, holder: str, now: datetime) -> int:
        result = self.conn.execute(insert(t.job_runs).values(program_id=program_id, job=job, holder=holder,
                                                             status="running", started_at=now))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any], now: datetime) -> None:
        self.conn.execute(update(t.job_runs).where(t.job_runs.c.id == run_id).values(
            status=status, finished_at=now, summary=json.dumps(summary, sort_keys=True, default=str)))

    def last_success(self, program_id: str, job: str) -> datetime | None:
        r = t.job_runs
        found: datetime | None = self.conn.execute(select(func.max(r.c.started_at)).where(and_(
            r.c.program_id == program_id, r.c.job == job, r.c.status == "succeeded"))).scalar()
        return found

    def runs(self, program_ids: Sequence[str], job: str | None, before: int | None, limit: int) -> list[JobRun]:
        r = t.job_runs
        query = select(r).where(r.c.program_id.in_(list(program_ids)))
        if job is not None:
            query = query.where(r.c.job == job)
        if before is not None:
            query = query.where(r.c.id < before)
        rows = self.conn.execute(query.order_by(r.c.id.desc()).limit(limit))
        return [JobRun(x.id, x.program_id, x.job, x.holder, x.status, x.started_at, x.finished_at,
                       None if x.summary is None else json.loads(x.summary)) for x in rows]

    # ------------------------------------------------------------ what the notification jobs read

    def expiring(self, program_id: str, start: datetime, end: datetime) -> list[tuple[str, datetime, int]]:
        """(member, expires at, points left) of the lots expiring in (start, end]."""
        lots = t.lots
        rows = self.conn.execute(select(lots.c.member_id, lots.c.expires_at, func.sum(lots.c.remaining)).where(and_(
            lots.c.program_id == program_id, lots.c.remaining > 0, lots.c.released == True,  # noqa: E712
            lots.c.expires_at > start, lots.c.expires_at <= end)).group_by(lots.c.member_id, lots.c.expires_at))
        return [(m, at, int(points)) for m, at, points in rows]

    def movements(self, program_id: str, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
        """member -> transaction kind -> points, of the transactions in [start, end)."""
        txns = t.transactions
        rows = self.conn.execute(select(txns.c.member_id, txns.c.kind, func.sum(txns.c.points)).where(and_(
            txns.c.program_id == program_id, txns.c.occurred_at >= start, txns.c.occurred_at < end))
            .group_by(txns.c.member_id, txns.c.kind))
        found: dict[str, dict[str, int]] = {}
        for member_id, kind, points in rows:
            found.setdefault(member_id, {})[kind] = int(points)
        return found

    def available(self, member_ids: Sequence[str]) -> dict[str, int]:
        m = t.members
        return {i: int(a) for i, a in self.conn.execute(select(m.c.id, m.c.available).where(m.c.id.in_(list(member_ids))))}
