"""What an experiment did: sample-ratio check first, then each variant's effect on a metric
against the control, with a fixed-horizon (Welch) confidence interval, the always-valid
(mSPRT) p-value and interval, and CUPED variance reduction where a pre-period exists.

An assignment that does not match the designed split (a sample-ratio mismatch) means the
variants' members differ by more than chance, so no effect is reported at all: the report
says so instead."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from .errors import InsufficientData
from .sequential import always_valid_p, confidence_half_width

Floats = npt.NDArray[np.float64]

# A chi-square p-value below this is a mismatch: strict, since a real experiment checks
# many times and a false alarm withholds a whole report.
SRM_THRESHOLD = 0.001
MINIMUM_PER_VARIANT = 2


@dataclass(frozen=True, slots=True)
class SampleRatio:
    observed: tuple[int, ...]
    expected_shares: tuple[float, ...]
    chi_square: float
    p_value: float

    @property
    def mismatch(self) -> bool:
        return self.p_value < SRM_THRESHOLD


def sample_ratio(observed: Sequence[int], weights: Sequence[int]) -> SampleRatio:
    """Pearson's chi-square test of the observed counts against the designed weights."""
    total = sum(observed)
    shares = tuple(w / sum(weights) for w in weights)
    if total == 0:
        return SampleRatio(tuple(observed), shares, 0.0, 1.0)
    expected = np.array(shares) * total
    statistic, p = stats.chisquare(np.array(observed, dtype=np.float64), expected)
    return SampleRatio(tuple(int(n) for n in observed), shares, float(statistic), float(p))


@dataclass(frozen=True, slots=True)
class Effect:
    variant: str
    control_mean: float
    variant_mean: float
    difference: float
    relative: float | None  # difference / control mean; None when the control mean is 0
    ci_low: float  # fixed horizon, Welch
    ci_high: float
    p_value: float
    always_valid_p: float  # mSPRT: valid at any look
    always_valid_low: float
    always_valid_high: float
    cuped: bool  # whether the pre-period adjustment was applied
    variance_reduction: float  # 1 - Var(adjusted) / Var(raw); 0 without CUPED


def cuped_adjust(metric: Floats, pre_period: Floats) -> tuple[Floats, float]:
    """Y - theta (X - mean X), theta = Cov(X, Y) / Var(X) over all members of all variants
    (one theta for every variant keeps the adjustment from biasing the difference)."""
    spread = pre_period.var()
    if spread == 0:
        return metric, 0.0
    theta = float(np.cov(pre_period, metric)[0, 1] / np.var(pre_period, ddof=1))
    adjusted = metric - theta * (pre_period - pre_period.mean())
    raw = metric.var()
    return adjusted, float(1 - adjusted.var() / raw) if raw > 0 else 0.0


def effect(name: str, control: Floats, variant: Floats, alpha: float = 0.05, tau: float | None = None,
           control_pre: Floats | None = None, variant_pre: Floats | None = None) -> Effect:
    """The variant's effect on a per-member metric. `tau` is the mSPRT mixture's scale in
    the metric's units (the size of effect one expects); by default a tenth of the pooled
    standard deviation."""
    if len(control) < MINIMUM_PER_VARIANT or len(variant) < MINIMUM_PER_VARIANT:
        raise InsufficientData(f"an effect needs at least {MINIMUM_PER_VARIANT} members in each variant; "
                               f"control has {len(control)}, {name} has {len(variant)}")
    raw_a, raw_b = control, variant
    reduction = 0.0
    use_cuped = control_pre is not None and variant_pre is not None
    if use_cuped:
        assert control_pre is not None and variant_pre is not None
        adjusted, reduction = cuped_adjust(np.concatenate((control, variant)), np.concatenate((control_pre, variant_pre)))
        control, variant = adjusted[:len(control)], adjusted[len(control):]
    var_a, var_b = control.var(ddof=1), variant.var(ddof=1)
    variance = var_a / len(control) + var_b / len(variant)
    difference = float(variant.mean() - control.mean())
    if variance == 0:
        raise InsufficientData("the metric is the same for every member: there is no variation to "
                               "compare")
    # Welch-Satterthwaite degrees of freedom.
    df = variance**2 / ((var_a / len(control))**2 / (len(control) - 1) + (var_b / len(variant))**2 / (len(variant) - 1))
    half = float(stats.t.ppf(1 - alpha / 2, df) * np.sqrt(variance))
    p = float(2 * stats.t.sf(abs(difference) / np.sqrt(variance), df))
    scale = tau if tau is not None else 0.1 * float(np.sqrt((var_a + var_b) / 2))
    tau_squared = max(scale, 1e-12) ** 2
    p_always = float(always_valid_p(np.array([difference]), np.array([variance]), tau_squared)[0])
    half_always = float(confidence_half_width(variance, tau_squared, alpha))
    base = float(raw_a.mean())
    return Effect(name, base, float(raw_b.mean()), difference, difference / base if base != 0 else None,
                  difference - half, difference + half, p, p_always, difference - half_always,
                  difference + half_always, use_cuped, reduction)


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    sample_ratio: SampleRatio
    effects: tuple[Effect, ...] | None  # None when the sample ratio does not match the design
    withheld_because: str | None


def report(variants: Sequence[str], weights: Sequence[int], metric: Sequence[Floats],
           pre_period: Sequence[Floats] | None = None, alpha: float = 0.05) -> ExperimentReport:
    """The report of an experiment whose first variant is the control; `metric[i]` holds one
    value per exposed member of variant i (and `pre_period[i]` the same members' values
    before exposure)."""
    srm = sample_ratio([len(m) for m in metric], weights)
    if srm.mismatch:
        return ExperimentReport(srm, None, f"sample-ratio mismatch: {', '.join(map(str, srm.observed))} members "
                                f"against a designed split of {':'.join(map(str, weights))} "
                                f"(chi-square p = {srm.p_value:.2g} < {SRM_THRESHOLD}); the assignment or the "
                                "exposure records are broken, so no effect is shown")
    found = []
    for index in range(1, len(variants)):
        found.append(effect(variants[index], metric[0], metric[index], alpha,
                            control_pre=pre_period[0] if pre_period else None,
                            variant_pre=pre_period[index] if pre_period else None))
    return ExperimentReport(srm, tuple(found), None)
