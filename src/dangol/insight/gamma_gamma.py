"""The Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005, "RFM and CLV";
Colombo & Jiang 1999): a member's purchases are Gamma(p, nu) around their own mean, with
nu ~ Gamma(q, gamma) across members. Fitted on repeat buyers only (x > 0), whose mean
repeat spend m_x is observed; it assumes spend is independent of purchase frequency."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, gammaln

from .errors import InsufficientData
from .estimation import Estimate, maximise

Floats = npt.NDArray[np.float64]

MINIMUM_REPEAT_BUYERS = 10


@dataclass(frozen=True, slots=True)
class GammaGamma:
    estimate: Estimate

    @property
    def p(self) -> float:
        return self.estimate["p"]

    @property
    def q(self) -> float:
        return self.estimate["q"]

    @property
    def gamma(self) -> float:
        return self.estimate["gamma"]

    def population_mean_spend(self) -> float:
        """E[Z] = p gamma / (q - 1): the mean spend per purchase of a member never seen."""
        return self.p * self.gamma / (self.q - 1)

    def expected_spend(self, frequency: Floats, monetary: Floats) -> Floats:
        """E[Z | x, m_x] = (p (gamma + x m_x)) / (p x + q - 1): a weighted mean of the
        population mean and the member's own (members without repeats get the population's)."""
        p, q, gamma = self.p, self.q, self.gamma
        return np.asarray(p * (gamma + frequency * monetary) / (p * frequency + q - 1), dtype=np.float64)


def log_likelihood(theta: Floats, frequency: Floats, monetary: Floats, weight: Floats) -> tuple[float, Floats]:
    """LL = ln G(px+q) - ln G(px) - ln G(q) + q ln gamma + (px-1) ln m + px ln x - (px+q) ln(x m + gamma)."""
    p, q, gamma = theta
    x, m = frequency, monetary
    px = p * x
    log_m, log_x, log_total = np.log(m), np.log(x), np.log(x * m + gamma)
    terms = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma) + (px - 1) * log_m \
        + px * log_x - (px + q) * log_total
    psi = digamma(px + q)
    d_p = x * (psi - digamma(px) + log_m + log_x - log_total)
    d_q = psi - digamma(q) + np.log(gamma) - log_total
    d_gamma = q / gamma - (px + q) / (x * m + gamma)
    gradient = np.array([(weight * d).sum() for d in (d_p, d_q, d_gamma)])
    return float((weight * terms).sum()), gradient


def fit(frequency: Floats, monetary: Floats) -> GammaGamma:
    """Fitted on the members with repeat purchases and a positive mean repeat spend."""
    keep = (frequency > 0) & (monetary > 0)
    x, m = frequency[keep], monetary[keep]
    if len(x) < MINIMUM_REPEAT_BUYERS:
        raise InsufficientData(f"Gamma-Gamma needs at least {MINIMUM_REPEAT_BUYERS} members who bought "
                               f"again with a positive spend; there are {len(x)}")
    if np.all(m == m[0]):
        raise InsufficientData("Gamma-Gamma needs spend that varies between members; every repeat "
                               "buyer spent the same")
    weight = np.ones(len(x))
    estimate = maximise("Gamma-Gamma", ("p", "q", "gamma"),
                        lambda theta: log_likelihood(theta, x, m, weight), len(x))
    if estimate["q"] <= 1:
        raise InsufficientData("Gamma-Gamma: the fitted q is at most 1, so the mean spend per purchase "
                               "is infinite under the model; spend is too heavy-tailed to model")
    return GammaGamma(estimate)
