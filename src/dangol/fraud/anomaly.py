"""The anomaly score: an isolation forest (scikit-learn) over the members' behavioural
features. Trained on the members the caller allows (those whose consent covers
analytics), it scores every member given: how easily the forest isolates them, from 0
(typical) to 1,000,000 (isolated at once), an integer like every other number dangol stores."""

from __future__ import annotations

from collections.abc import Mapping, Set

import numpy as np
from sklearn.ensemble import IsolationForest

MIN_TRAINING = 10  # fewer members than this teach a forest nothing
SCALE = 1_000_000


def anomaly_scores(features: Mapping[str, tuple[float, ...]], train_on: Set[str], *, seed: int = 0,
                   trees: int = 200) -> dict[str, int]:
    """Each member's score (parts per million); empty when too few may be trained on.
    The same features, training set and seed always give the same scores."""
    training = sorted(m for m in features if m in train_on)
    if len(training) < MIN_TRAINING:
        return {}
    forest = IsolationForest(n_estimators=trees, random_state=seed)
    forest.fit(np.array([features[m] for m in training], dtype=float))
    scored = sorted(features)
    # score_samples is the negated anomaly score of the original paper, in (-1, 0]: -0.5 is typical.
    raw = -forest.score_samples(np.array([features[m] for m in scored], dtype=float))
    return {m: int(round(float(s) * SCALE)) for m, s in zip(scored, raw)}
