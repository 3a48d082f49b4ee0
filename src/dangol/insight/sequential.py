"""The mixture sequential probability ratio test (mSPRT; Johari, Pekelis & Walsh, "Always
valid inference", 2017): p-values and confidence intervals that stay valid however often
the operator looks, for the difference of two means.

With the difference estimate D after n observations, its variance V (Welch: s_A^2/n_A +
s_B^2/n_B) and a normal mixture N(0, tau^2) over the true difference, the likelihood ratio
against "no difference" is

    Lambda = sqrt(V / (V + tau^2)) * exp(D^2 tau^2 / (2 V (V + tau^2)))

Under the null hypothesis Lambda is a martingale, so by Ville's inequality the chance that
it *ever* exceeds 1/alpha is at most alpha. The always-valid p-value is the running minimum
of 1/Lambda, and the confidence sequence is D +- sqrt(V (V + tau^2) / tau^2 * (2 ln(1/alpha)
+ ln((V + tau^2) / V))). The variance is estimated (a plug-in), which is why the A/A
simulation in tests/insight checks the false-positive rate rather than trusting the theory."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


def log_mixture_ratio(difference: Floats, variance: Floats, tau_squared: Floats | float) -> Floats:
    """ln Lambda, elementwise (arrays of any shape)."""
    total = variance + tau_squared
    return np.asarray(0.5 * (np.log(variance) - np.log(total))
                      + difference**2 * tau_squared / (2 * variance * total), dtype=np.float64)


def always_valid_p(difference: Floats, variance: Floats, tau_squared: Floats | float) -> Floats:
    """Running always-valid p-values along the last axis (one entry per look)."""
    p = np.minimum(1.0, np.exp(-log_mixture_ratio(difference, variance, tau_squared)))
    return np.asarray(np.minimum.accumulate(p, axis=-1), dtype=np.float64)


def confidence_half_width(variance: Floats | float, tau_squared: float, alpha: float) -> Floats:
    """Half the width of the always-valid (1 - alpha) confidence interval at one look."""
    total = variance + tau_squared
    return np.asarray(np.sqrt(variance * total / tau_squared * (2 * np.log(1 / alpha) + np.log(total / variance))),
                      dtype=np.float64)
