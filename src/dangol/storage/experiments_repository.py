"""Experiments and their exposure records."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, select

from . import tables as t


class ExperimentsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def design(self, program_id: str, experiment_id: str) -> list[tuple[str, int]] | None:
        e = t.experiments
        row = self.conn.execute(select(e.c.variants).where(e.c.program_id == program_id,
                                                           e.c.id == experiment_id)).first()
        return None if row is None else [(str(v["name"]), int(v["weight"])) for v in json.loads(row[0])]

    def add(self, program_id: str, experiment_id: str, variants: list[tuple[str, int]], at: datetime) -> None:
        body = json.dumps([{"name": name, "weight": weight} for name, weight in variants])
        self.conn.execute(t.experiments.insert().values(program_id=program_id, id=experiment_id, variants=body,
                                                        created_at=at))

    def exposure(self, program_id: str, experiment_id: str, member_id: str) -> tuple[str, datetime] | None:
        x = t.experiment_exposures
        row = self.conn.execute(select(x.c.variant, x.c.exposed_at).where(
            x.c.program_id == program_id, x.c.experiment_id == experiment_id, x.c.member_id == member_id)).first()
        return None if row is None else (str(row[0]), row[1])

    def expose(self, program_id: str, experiment_id: str, member_id: str, variant: str, at: datetime) -> None:
        self.conn.execute(t.experiment_exposures.insert().values(
            program_id=program_id, experiment_id=experiment_id, member_id=member_id, variant=variant, exposed_at=at))

    def exposures(self, program_id: str, experiment_id: str) -> list[tuple[str, str, datetime]]:
        """(member id, variant, first exposure) of every exposed member."""
        x = t.experiment_exposures
        query = (select(x.c.member_id, x.c.variant, x.c.exposed_at)
                 .where(x.c.program_id == program_id, x.c.experiment_id == experiment_id)
                 .order_by(x.c.member_id))
        return [(str(m), str(v), at) for m, v, at in self.conn.execute(query)]
