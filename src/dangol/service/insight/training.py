"""The data the models learn from, and the lifetime-value fit of a program.

Only members who granted the `personalisation` purpose (personalisation and analytics,
model training) are read: a member who refused or was never asked is left out of every
model, and the answer says how many were. Purchases are grouped by UTC day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from ...domain.clock import Clock, SystemClock
from ...domain.errors import InvalidRequest
from ...insight import bgnbd, gamma_gamma
from ...insight.churn import ChurnComparison, Purchases, compare
from ...insight.errors import InsufficientData
from ...insight.clv import ClvTerms, lifetime_value
from ...insight.summary import group_triples, summarise
from ...privacy.consent import Purpose
from ...storage.database import Database
from ...storage.insight_reads import purchases
from ...storage.ledger_repository import LedgerRepository
from ..privacy.consents import ConsentService

# CLV in a program's days: 12 periods of 30 days, 1 % a period.
DEFAULT_TERMS = ClvTerms(periods=12, period_length=30.0, discount_rate=0.01)


@dataclass(frozen=True, slots=True)
class TrainingSet:
    members: tuple[str, ...]  # member ids; Purchases.member indexes this tuple
    purchases: Purchases
    left_out: int  # members with purchases who did not consent


def day_number(at: datetime) -> int:
    return at.date().toordinal()


class InsightModels:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def training_set(self, program_id: str) -> TrainingSet:
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            rows = purchases(conn, program_id)
            buyers = sorted({member for member, _, _ in rows})
            allowed = ConsentService.allowed_among(conn, program_id, Purpose.PERSONALISATION, buyers)
        members = tuple(m for m in buyers if m in allowed)
        number = {m: i for i, m in enumerate(members)}
        kept = [(number[m], day_number(at), amount) for m, at, amount in rows if m in number]
        return TrainingSet(members, Purchases(np.array([k[0] for k in kept], dtype=np.int64),
                                              np.array([k[1] for k in kept], dtype=np.int64),
                                              np.array([k[2] for k in kept], dtype=np.float64)),
                           len(buyers) - len(members))

    def lifetime_value(self, program_id: str, terms: ClvTerms = DEFAULT_TERMS) -> dict[str, Any]:
        """BG/NBD and Gamma-Gamma fitted on the consenting members' purchases to today, and
        the CLV they predict (minor units, rounded half-even). Raises InsufficientData."""
        data = self.training_set(program_id)
        if not data.members:
            raise InsufficientData(f"no member with a purchase has granted personalisation ({data.left_out} left "
                                   "out): the models learn only from members who allow it")
        today = day_number(self.clock.now())
        summary = summarise(data.purchases.member, data.purchases.day, data.purchases.spend, today)
        purchases_model = bgnbd.fit(group_triples(summary.frequency, summary.recency, summary.T))
        spend_model = gamma_gamma.fit(summary.frequency, summary.monetary)
        values = lifetime_value(purchases_model, spend_model, summary, terms)
        return {"program_id": program_id, "members": len(summary), "left_out_without_consent": data.left_out,
                "time_unit": "day", "bgnbd": purchases_model.estimate.as_dict(),
                "bgnbd_log_likelihood": purchases_model.estimate.log_likelihood,
                "gamma_gamma": spend_model.estimate.as_dict(),
                "clv": {"periods": terms.periods, "period_days": terms.period_length,
                        "discount_rate": terms.discount_rate,
                        "mean_minor": int(np.round(values.mean())), "total_minor": int(np.round(values.sum()))},
                "members_clv_minor": {data.members[i]: int(v) for i, v in enumerate(np.round(values))}}

    def churn_comparison(self, program_id: str, horizon_days: int = 90) -> ChurnComparison:
        """The churn classifier against BG/NBD on the consenting members: trained on the
        window ending `horizon_days` ago, judged on the last `horizon_days`."""
        if not 7 <= horizon_days <= 366:
            raise InvalidRequest("the churn horizon is 7 to 366 days", field="horizon_days")
        data = self.training_set(program_id)
        if not data.members:
            raise InsufficientData(f"no member with a purchase has granted personalisation ({data.left_out} left "
                                   "out): the models learn only from members who allow it")
        today = day_number(self.clock.now())
        return compare(data.purchases, today - horizon_days, horizon_days)
