"""Experiments on a program: a design (variants and weights), members' exposures (the
variant their hash assigns, recorded the first time they see it), and the report.

The report's metric is spend per exposed member (minor units) in the `days` after their
first exposure, against the same member's spend in the `days` before it (the pre-period, for
CUPED). The sample-ratio check comes first: on a mismatch, no effect is reported."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np

from ...domain.clock import Clock, SystemClock
from ...domain.errors import Conflict, InvalidRequest, UnknownMember
from ...insight.assignment import Variant, assign, validate_variants
from ...insight.effects import report
from ...insight.errors import InsufficientData, UnknownExperiment
from ...storage.database import Database
from ...storage.experiments_repository import ExperimentsRepository
from ...storage.insight_reads import purchases
from ...storage.ledger_repository import LedgerRepository
from ..receipts import iso
from ..remembered import Remembered

EXPERIMENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_VARIANTS = 10


def _design_json(program_id: str, experiment_id: str, variants: Sequence[tuple[str, int]]) -> dict[str, Any]:
    return {"program_id": program_id, "experiment_id": experiment_id,
            "variants": [{"name": name, "weight": weight} for name, weight in variants]}


class Experiments:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def create(self, program_id: str, experiment_id: str, variants: Sequence[tuple[str, int]],
               idempotency_key: str | None = None) -> dict[str, Any]:
        """The design; creating the same design again answers the same, another design under
        an existing id is a conflict (a design never changes once members were exposed)."""
        if not EXPERIMENT_ID.match(experiment_id):
            raise InvalidRequest("an experiment id is 1 to 64 letters, digits, '-' or '_'", field="experiment_id")
        if len(variants) > MAX_VARIANTS:
            raise InvalidRequest(f"at most {MAX_VARIANTS} variants", field="variants")
        validate_variants([Variant(name, weight) for name, weight in variants])
        design = [(name, weight) for name, weight in variants]
        request = _design_json(program_id, experiment_id, design)

        def attempt() -> dict[str, Any]:
            with self.db.write() as conn:
                LedgerRepository(conn).get_program(program_id)
                remembered = Remembered(conn, f"experiments:{program_id}", idempotency_key, request)
                if (previous := remembered.previous()) is not None:
                    return dict(previous)
                repo = ExperimentsRepository(conn)
                existing = repo.design(program_id, experiment_id)
                if existing is not None and existing != design:
                    raise Conflict(f"experiment {experiment_id!r} exists with another design")
                if existing is None:
                    repo.add(program_id, experiment_id, design, self.clock.now())
                return dict(remembered.remember(request, self.clock.now()))
        return self.db.retrying_races(attempt)

    def expose(self, program_id: str, experiment_id: str, member_id: str,
               idempotency_key: str | None = None) -> dict[str, Any]:
        """Records that the member saw the experiment (once: later calls answer the first
        exposure) and answers the variant they get."""
        request = {"program_id": program_id, "experiment_id": experiment_id, "member_id": member_id}

        def attempt() -> dict[str, Any]:
            with self.db.write() as conn:
                LedgerRepository(conn).get_program(program_id)
                remembered = Remembered(conn, f"exposures:{program_id}", idempotency_key, request)
                if (previous := remembered.previous()) is not None:
                    return dict(previous)
                repo = ExperimentsRepository(conn)
                design = repo.design(program_id, experiment_id)
                if design is None:
                    raise UnknownExperiment(f"no experiment {experiment_id!r} in program {program_id!r}")
                member = LedgerRepository(conn).find_member(member_id)
                if member is None or member.program_id != program_id:
                    raise UnknownMember(f"no member {member_id!r} in program {program_id!r}")
                found = repo.exposure(program_id, experiment_id, member_id)
                if found is None:
                    variant = assign(experiment_id, member_id, [Variant(n, w) for n, w in design])
                    found = (variant, self.clock.now())
                    repo.expose(program_id, experiment_id, member_id, *found)
                answer = {**request, "variant": found[0], "exposed_at": iso(found[1])}
                return dict(remembered.remember(answer, self.clock.now()))
        return self.db.retrying_races(attempt)

    def report(self, program_id: str, experiment_id: str, days: int = 28) -> dict[str, Any]:
        if not 1 <= days <= 366:
            raise InvalidRequest("days is 1 to 366", field="days")
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            repo = ExperimentsRepository(conn)
            design = repo.design(program_id, experiment_id)
            if design is None:
                raise UnknownExperiment(f"no experiment {experiment_id!r} in program {program_id!r}")
            exposed = repo.exposures(program_id, experiment_id)
            bought = purchases(conn, program_id)
        window = timedelta(days=days)
        first = {member: at for member, _, at in exposed}
        after = {member: 0 for member in first}
        before = {member: 0 for member in first}
        for member, at, amount in bought:
            start = first.get(member)
            if start is None:
                continue
            if start <= at < start + window:
                after[member] += amount
            elif start - window <= at < start:
                before[member] += amount
        names = [name for name, _ in design]
        groups = {name: [m for m, variant, _ in exposed if variant == name] for name in names}
        metric = [np.array([after[m] for m in groups[name]], dtype=np.float64) for name in names]
        pre = [np.array([before[m] for m in groups[name]], dtype=np.float64) for name in names]
        found = report(names, [w for _, w in design], metric, pre)
        ratio = found.sample_ratio
        answer = {**_design_json(program_id, experiment_id, design), "metric": "spend_minor", "days": days,
                "sample_ratio": {"observed": dict(zip(names, ratio.observed, strict=True)),
                                 "expected_shares": dict(zip(names, ratio.expected_shares, strict=True)),
                                 "chi_square": ratio.chi_square, "p_value": ratio.p_value,
                                 "mismatch": ratio.mismatch},
                "withheld_because": found.withheld_because,
                "effects": None if found.effects is None else [
                    {"variant": e.variant, "control_mean": e.control_mean, "variant_mean": e.variant_mean,
                     "difference": e.difference, "relative": e.relative,
                     "confidence_interval": [e.ci_low, e.ci_high], "p_value": e.p_value,
                     "always_valid_p": e.always_valid_p,
                     "always_valid_interval": [e.always_valid_low, e.always_valid_high],
                     "cuped": e.cuped, "variance_reduction": e.variance_reduction} for e in found.effects]}
        if not _finite(answer):
            raise InsufficientData("the exposed members' spend gives no finite estimate (too few members or no "
                                   "variation in a variant)")
        return answer


def _finite(value: object) -> bool:
    """No NaN or infinity anywhere in an answer: JSON has no such numbers, charts break on them."""
    if isinstance(value, float):
        return bool(np.isfinite(value))
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True
