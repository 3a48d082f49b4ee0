"""The anomaly scoring job (`dangol fraud score`): every member's behavioural features,
an isolation forest trained only on the members whose consent covers personalisation
and analytics (model training is one of its uses), and every member scored by it. Scoring
a member who did not consent is fraud prevention, a use of its own; training on their
behaviour is analytics, which they refused."""

from __future__ import annotations

from typing import Any

from ...domain.clock import Clock, SystemClock
from ...domain.errors import InvalidRequest
from ...fraud.anomaly import MIN_TRAINING, anomaly_scores
from ...fraud.features import FEATURES, features
from ...privacy.consent import Purpose
from ...storage.database import Database
from ...storage.fraud_repository import FraudRepository
from ...storage.ledger_repository import LedgerRepository
from ...storage.privacy_repository import PrivacyRepository
from ..receipts import iso

TRAINING_PURPOSE = Purpose.PERSONALISATION
MAX_TOP = 1_000


class AnomalyScoring:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def run(self, program_id: str, *, seed: int = 0) -> dict[str, Any]:
        """Scores the program's members and keeps the scores (the previous run's replaced)."""
        now = self.clock.now()
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            members = FraudRepository(conn).activity(program_id)
            consenting = PrivacyRepository(conn).granted_among(program_id, TRAINING_PURPOSE,
                                                               [m.member_id for m in members])
        vectors = {m.member_id: features(m, now) for m in members}
        scores = anomaly_scores(vectors, consenting, seed=seed)
        rows = [(member, score, dict(zip(FEATURES, vectors[member])), member in consenting)
                for member, score in sorted(scores.items())]
        with self.db.write() as conn:
            FraudRepository(conn).save_scores(program_id, rows, now)
        return {"program_id": program_id, "scored": len(rows), "members": len(members),
                "trained_on": len(consenting) if scores else 0, "min_training": MIN_TRAINING, "scored_at": iso(now)}

    def top(self, program_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """The most anomalous members of the last run, highest score first."""
        if not 1 <= limit <= MAX_TOP:
            raise InvalidRequest(f"limit must be between 1 and {MAX_TOP}")
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            rows = FraudRepository(conn).scores(program_id, limit)
        return [{**row, "scored_at": iso(row["scored_at"])} for row in rows]
