"""Churn: who will not buy again within a horizon, learnt from purchase histories with a
gradient-boosted classifier (scikit-learn's HistGradientBoostingClassifier), trained and
judged on a time-based split, and compared on the same holdout with BG/NBD's P(alive).

The split never lets the future leak into training: the model learns from features as they
stood at `cutoff - horizon` with labels from (cutoff - horizon, cutoff], and is judged on
features at `cutoff` with labels from (cutoff, cutoff + horizon], where it was not trained.
A member is *churned* in a window when they make no purchase in it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from . import bgnbd
from .errors import InsufficientData
from .summary import group_triples, summarise

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

FEATURES = ("recency_days", "frequency", "tenure_days", "mean_spend", "total_spend", "purchases_30d",
            "purchases_90d", "trend_90d", "mean_gap_days")
MINIMUM_MEMBERS = 50
CALIBRATION_BINS = 10


@dataclass(frozen=True, slots=True)
class Purchases:
    member: Ints  # member numbers (the service maps ids to numbers)
    day: Ints  # day numbers (any origin; whole days)
    spend: Floats  # minor units


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Features of every member with a purchase on or before `cutoff`, and whether they
    bought in (cutoff, cutoff + horizon]."""

    members: Ints
    features: Floats  # (members, len(FEATURES))
    churned: npt.NDArray[np.bool_]
    frequency: Floats  # BG/NBD summary at the cutoff, in days
    recency: Floats
    T: Floats


def snapshot(purchases: Purchases, cutoff: int, horizon: int) -> Snapshot:
    seen = purchases.day <= cutoff
    member, day, spend = purchases.member[seen], purchases.day[seen], purchases.spend[seen]
    if len(member) == 0:
        raise InsufficientData("no purchases before the cutoff")
    ids, inverse = np.unique(member, return_inverse=True)
    n = len(ids)
    count = np.bincount(inverse, minlength=n).astype(np.float64)
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, inverse, day)
    last = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last, inverse, day)
    total = np.bincount(inverse, weights=spend, minlength=n)
    recent30 = np.bincount(inverse, weights=(day > cutoff - 30).astype(np.float64), minlength=n)
    recent90 = np.bincount(inverse, weights=(day > cutoff - 90).astype(np.float64), minlength=n)
    before90 = np.bincount(inverse, weights=((day > cutoff - 180) & (day <= cutoff - 90)).astype(np.float64),
                           minlength=n)
    tenure = (cutoff - first).astype(np.float64)
    gaps = np.where(count > 1, (last - first) / np.maximum(count - 1, 1), tenure)
    features = np.column_stack((cutoff - last, count, tenure, total / count, total, recent30, recent90,
                                recent90 - before90, gaps)).astype(np.float64)
    later = (purchases.day > cutoff) & (purchases.day <= cutoff + horizon)
    bought = np.isin(ids, purchases.member[later])
    summary = summarise(member, day, spend, cutoff)
    return Snapshot(ids, features, ~bought, summary.frequency, summary.recency, summary.T)


@dataclass(frozen=True, slots=True)
class Calibration:
    brier: float
    expected_calibration_error: float  # mean |predicted - observed| over equal-count bins, weighted
    bins: tuple[tuple[float, float, int], ...]  # (mean predicted, observed rate, members) per bin


def calibration(churned: npt.NDArray[np.bool_], predicted: Floats) -> Calibration:
    order = np.argsort(predicted, kind="stable")
    bins = []
    error = 0.0
    for chunk in np.array_split(order, CALIBRATION_BINS):
        if len(chunk) == 0:
            continue
        mean_p, observed = float(predicted[chunk].mean()), float(churned[chunk].mean())
        bins.append((mean_p, observed, len(chunk)))
        error += len(chunk) * abs(mean_p - observed)
    return Calibration(float(brier_score_loss(churned, predicted)), error / len(predicted), tuple(bins))


@dataclass(frozen=True, slots=True)
class ChurnComparison:
    train_members: int
    holdout_members: int
    holdout_churn_rate: float
    classifier_auc: float
    baseline_auc: float  # 1 - P(alive) from BG/NBD fitted on the holdout's history
    quiet_auc: float  # BG/NBD's P(no purchase within the horizon), the same fit
    classifier_calibration: Calibration
    baseline_calibration: Calibration
    quiet_calibration: Calibration

    @property
    def beats_baseline(self) -> bool:
        return self.classifier_auc > self.baseline_auc


def _usable(name: str, data: Snapshot) -> None:
    if len(data.members) < MINIMUM_MEMBERS:
        raise InsufficientData(f"the churn model needs at least {MINIMUM_MEMBERS} members in the {name} "
                               f"window; there are {len(data.members)}")
    if data.churned.all() or not data.churned.any():
        raise InsufficientData(f"in the {name} window every member {'churned' if data.churned.all() else 'stayed'}"
                               ": there is nothing to tell apart")


def compare(purchases: Purchases, cutoff: int, horizon: int, seed: int = 0) -> ChurnComparison:
    """Train at `cutoff - horizon`, judge at `cutoff`, against BG/NBD's P(alive) at `cutoff`."""
    train = snapshot(purchases, cutoff - horizon, horizon)
    holdout = snapshot(purchases, cutoff, horizon)
    _usable("training", train)
    _usable("holdout", holdout)
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                           min_samples_leaf=20, l2_regularization=1.0, random_state=seed)
    # One thread: on tens of thousands of members OpenMP's threads gain nothing, and on a
    # shared machine they fight the other work for the cores (measured 30x slower).
    with threadpool_limits(limits=1):
        model.fit(train.features, train.churned)
        predicted = np.asarray(model.predict_proba(holdout.features)[:, 1], dtype=np.float64)
    baseline_model = bgnbd.fit(group_triples(holdout.frequency, holdout.recency, holdout.T))
    baseline = 1 - baseline_model.p_alive(holdout.frequency, holdout.recency, holdout.T)
    quiet = baseline_model.p_no_purchase(horizon, holdout.frequency, holdout.recency, holdout.T)
    return ChurnComparison(len(train.members), len(holdout.members), float(holdout.churned.mean()),
                           float(roc_auc_score(holdout.churned, predicted)),
                           float(roc_auc_score(holdout.churned, baseline)),
                           float(roc_auc_score(holdout.churned, quiet)),
                           calibration(holdout.churned, predicted), calibration(holdout.churned, baseline),
                           calibration(holdout.churned, quiet))
