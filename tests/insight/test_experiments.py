"""Experiments: deterministic assignment, the sample-ratio check before any effect, CUPED,
and the always-valid test's false-positive rate over 1,000 A/A experiments peeked daily."""

from __future__ import annotations

import time

import numpy as np
import pytest

from bench.experiments import simulate
from dangol.domain.errors import InvalidRequest
from dangol.insight.assignment import Variant, assign
from dangol.insight.effects import cuped_adjust, effect, report
from dangol.insight.errors import InsufficientData

SPLIT = [Variant("control", 1), Variant("double-points", 1)]


def test_a_member_always_gets_the_same_variant_and_the_split_follows_the_weights() -> None:
    members = [f"member-{i}" for i in range(20_000)]
    first = [assign("spring-double", m, SPLIT) for m in members]
    assert first == [assign("spring-double", m, SPLIT) for m in members]
    share = first.count("double-points") / len(first)
    assert abs(share - 0.5) < 0.015
    uneven = [assign("spring-double", m, [Variant("control", 9), Variant("treat", 1)]) for m in members]
    assert abs(uneven.count("treat") / len(uneven) - 0.1) < 0.01
    # Another experiment shuffles members independently of the first.
    other = [assign("autumn-coupon", m, SPLIT) for m in members]
    agreement = sum(a == b for a, b in zip(first, other, strict=True)) / len(members)
    assert abs(agreement - 0.5) < 0.015


@pytest.mark.parametrize("variants", [[Variant("control", 1)], [Variant("a", 1), Variant("a", 2)]])
def test_a_design_without_two_distinct_variants_is_refused(variants: list[Variant]) -> None:
    with pytest.raises(InvalidRequest):
        assign("x", "member-1", variants)


def test_a_zero_weight_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="weight"):
        Variant("treat", 0)


def _exposed(rng: np.random.Generator, members: int, lift: float = 0.0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    names = [assign("launch", f"m{i}", SPLIT) for i in range(members)]
    pre = rng.gamma(2.0, 10.0, members)
    metric = 0.8 * pre + rng.normal(0, 5, members)
    treated = np.array([n == "double-points" for n in names])
    metric = np.where(treated, metric * (1 + lift), metric)
    return [metric[~treated], metric[treated]], [pre[~treated], pre[treated]]


def test_a_sample_ratio_mismatch_is_flagged_and_withholds_every_effect() -> None:
    rng = np.random.default_rng(3)
    metric, _ = _exposed(rng, 10_000, lift=0.2)
    fine = report(["control", "double-points"], [1, 1], metric)
    assert not fine.sample_ratio.mismatch and fine.effects is not None
    # Exposure records lost for 10% of the treated members: the split no longer matches.
    lossy = [metric[0], metric[1][: int(len(metric[1]) * 0.90)]]
    broken = report(["control", "double-points"], [1, 1], lossy)
    assert broken.sample_ratio.mismatch
    assert broken.effects is None
    assert broken.withheld_because is not None and "sample-ratio mismatch" in broken.withheld_because


def test_an_injected_effect_is_found_within_its_intervals() -> None:
    rng = np.random.default_rng(5)
    metric, pre = _exposed(rng, 20_000, lift=0.10)
    found = report(["control", "double-points"], [1, 1], metric)
    assert found.effects is not None
    lift = found.effects[0]
    assert lift.relative is not None and lift.relative == pytest.approx(0.10, abs=0.03)
    assert lift.ci_low > 0 and lift.always_valid_p < 0.05
    assert lift.always_valid_low <= lift.ci_low and lift.always_valid_high >= lift.ci_high  # wider: valid at any look


def test_cuped_narrows_the_interval_without_moving_the_estimate() -> None:
    rng = np.random.default_rng(11)
    metric, pre = _exposed(rng, 20_000, lift=0.05)
    plain = effect("double-points", metric[0], metric[1])
    adjusted = effect("double-points", metric[0], metric[1], control_pre=pre[0], variant_pre=pre[1])
    assert adjusted.cuped and adjusted.variance_reduction > 0.5
    assert adjusted.ci_high - adjusted.ci_low < 0.6 * (plain.ci_high - plain.ci_low)
    assert adjusted.difference == pytest.approx(plain.difference, abs=plain.ci_high - plain.ci_low)
    # The adjusted metric keeps its mean: CUPED moves members' values, not the average.
    values, _ = cuped_adjust(np.concatenate(metric), np.concatenate(pre))
    assert values.mean() == pytest.approx(np.concatenate(metric).mean())


def test_an_effect_on_a_constant_metric_is_refused_not_nan() -> None:
    with pytest.raises(InsufficientData, match="no variation"):
        effect("treat", np.zeros(50), np.zeros(50))
    with pytest.raises(InsufficientData, match="at least 2"):
        effect("treat", np.array([1.0]), np.array([1.0, 2.0]))


def test_one_thousand_aa_tests_peeked_daily_stay_within_alpha() -> None:
    """The always-valid test looked at every day for 28 days keeps its false-positive rate
    within alpha; a t-test looked at as often does not (what the sequential test is for)."""
    started = time.perf_counter()
    aa = simulate(experiments=1000, days=28, per_day=100, lift=0.0, seed=7)
    assert aa.msprt_rejected.mean() <= 0.05
    assert aa.naive_rejected.mean() > 0.15
    ab = simulate(experiments=1000, days=28, per_day=100, lift=0.20, seed=8)
    assert ab.msprt_rejected.mean() > 0.25  # it does find a real effect
    assert time.perf_counter() - started < 30
