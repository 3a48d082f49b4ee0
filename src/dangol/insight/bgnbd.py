"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005, "Counting your customers
the easy way"): while alive a member buys at a Poisson rate lambda ~ Gamma(r, alpha); after
each purchase they drop out with probability p ~ Beta(a, b).

Everything is computed in log space with `gammaln`/`betaln` and `logaddexp`, so that a
member with hundreds of purchases or a ten-million-member program never overflows (the
ratio ((alpha+T)/(alpha+t_x))^(r+x) that overflows in direct implementations only ever
appears as its logarithm here)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from .errors import InsufficientData
from .estimation import Estimate, maximise
from .summary import GroupedSummary

Floats = npt.NDArray[np.float64]

# Fewer members than this, or fewer repeat buyers, and the four parameters are noise.
MINIMUM_MEMBERS = 30
MINIMUM_REPEAT_BUYERS = 10


@dataclass(frozen=True, slots=True)
class BgNbd:
    """A fitted BG/NBD model: its parameters (with standard errors) and what they predict."""

    estimate: Estimate

    @property
    def r(self) -> float:
        return self.estimate["r"]

    @property
    def alpha(self) -> float:
        return self.estimate["alpha"]

    @property
    def a(self) -> float:
        return self.estimate["a"]

    @property
    def b(self) -> float:
        return self.estimate["b"]

    def log_p_dead_odds(self, frequency: Floats, recency: Floats, T: Floats) -> Floats:
        """log of P(dead)/P(alive): ln(a/(b+x-1)) + (r+x) ln((alpha+T)/(alpha+t_x)) for x > 0."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x = frequency
        repeat = x > 0
        safe = np.where(repeat, b + x - 1, 1.0)
        odds = np.log(a) - np.log(safe) + (r + x) * (np.log(alpha + T) - np.log(alpha + recency))
        return np.where(repeat, odds, -np.inf)

    def p_alive(self, frequency: Floats, recency: Floats, T: Floats) -> Floats:
        """P(alive | x, t_x, T) = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
        return np.asarray(expit(-self.log_p_dead_odds(frequency, recency, T)), dtype=np.float64)

    def p_no_purchase(self, t: float, frequency: Floats, recency: Floats, T: Floats) -> Floats:
        """P(no purchase in the next `t` | x, t_x, T) = 1 - P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x)):
        a dead member buys nothing, a live one nothing with the posterior mean of e^(-lambda t)."""
        log_stay_quiet = (self.r + frequency) * (np.log(self.alpha + T) - np.log(self.alpha + T + t))
        return np.asarray(1 - self.p_alive(frequency, recency, T) * -np.expm1(log_stay_quiet), dtype=np.float64)

    def expected_purchases(self, t: float | Floats, frequency: Floats, recency: Floats, T: Floats) -> Floats:
        """E[Y(t) | x, t_x, T]: purchases expected in the next `t` time units (eq. 10 of the paper)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x = frequency
        z = t / (alpha + T + t)
        log_ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + T + t))
        hyper = hyp2f1(r + x, b + x, a + b + x - 1, z)
        numerator = (a + b + x - 1) / (a - 1) * (1 - np.exp(log_ratio) * hyper)
        # 1 / (1 + odds) = P(alive), computed without forming the odds.
        return np.asarray(numerator * self.p_alive(frequency, recency, T), dtype=np.float64)

    def expected_purchases_new(self, t: float | Floats) -> Floats:
        """E[X(t)]: purchases expected of a member just acquired, over `t` time units."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        value = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
        return np.asarray(value, dtype=np.float64)


def log_likelihood(theta: Floats, data: GroupedSummary) -> tuple[float, Floats]:
    """The weighted log-likelihood of the grouped data and its gradient in (r, alpha, a, b).

    LL = ln G(r+x) - ln G(r) + r ln alpha
         + ln[ B(a, b+x)/B(a, b) (alpha+T)^-(r+x) + [x>0] B(a+1, b+x-1)/B(a, b) (alpha+t_x)^-(r+x) ]"""
    r, alpha, a, b = theta
    (x, tx_levels, T_levels), (at_x, at_tx, at_T) = data.levels, data.index
    w = data.weight
    # Per distinct x: the special functions (the costly part) and the repeat-buyer terms.
    repeat_x = x > 0
    b_shift = np.where(repeat_x, b + x - 1, 1.0)  # b+x-1 only where x > 0
    beta_ab = betaln(a, b)
    common_x = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    beta_first_x = betaln(a, b + x) - beta_ab
    beta_second_x = np.where(repeat_x, betaln(a + 1, b_shift) - beta_ab, -np.inf)
    psi_ab, psi_abx = digamma(a + b), digamma(a + b + x)
    d_r_common_x = digamma(r + x) - digamma(r) + np.log(alpha)
    d_a_first_x = psi_ab - psi_abx
    d_a_second_x = digamma(a + 1) - digamma(a) + psi_ab - psi_abx
    d_b_first_x = digamma(b + x) - digamma(b) + psi_ab - psi_abx
    d_b_second_x = np.where(repeat_x, digamma(b_shift), 0.0) - digamma(b) + psi_ab - psi_abx
    log_alpha_T = np.log(alpha + T_levels)[at_T]
    log_alpha_tx = np.log(alpha + tx_levels)[at_tx]
    rx = (r + x)[at_x]

    first = beta_first_x[at_x] - rx * log_alpha_T
    second = beta_second_x[at_x] - rx * log_alpha_tx  # -inf where x = 0
    mixed = np.logaddexp(first, second)
    value = float((w * (common_x[at_x] + mixed)).sum())

    share_first = np.exp(first - mixed)
    share_second = np.exp(second - mixed)  # 0 where x = 0
    d_r = d_r_common_x[at_x] - share_first * log_alpha_T - share_second * log_alpha_tx
    d_alpha = r / alpha - share_first * rx / (alpha + T_levels)[at_T] - share_second * rx / (alpha + tx_levels)[at_tx]
    d_a = share_first * d_a_first_x[at_x] + share_second * d_a_second_x[at_x]
    d_b = share_first * d_b_first_x[at_x] + share_second * d_b_second_x[at_x]
    gradient = np.array([(w * d).sum() for d in (d_r, d_alpha, d_a, d_b)])
    return value, gradient


def fit(data: GroupedSummary) -> BgNbd:
    """The maximum-likelihood BG/NBD fit, or InsufficientData saying why there is none."""
    members = data.members
    repeaters = int(data.weight[data.frequency > 0].sum())
    if members < MINIMUM_MEMBERS:
        raise InsufficientData(f"BG/NBD needs at least {MINIMUM_MEMBERS} members with a purchase; "
                               f"there are {members}")
    if repeaters < MINIMUM_REPEAT_BUYERS:
        raise InsufficientData(f"BG/NBD needs at least {MINIMUM_REPEAT_BUYERS} members who bought again "
                               f"(the drop-out rate is learnt from repeat buyers); there are {repeaters}")
    if np.any(data.recency > data.T) or np.any(data.recency < 0):
        raise InsufficientData("recency must lie between 0 and T for every member")
    if np.any((data.frequency == 0) & (data.recency != 0)):
        raise InsufficientData("a member without repeat purchases has recency 0")
    estimate = maximise("BG/NBD", ("r", "alpha", "a", "b"), lambda theta: log_likelihood(theta, data), members)
    return BgNbd(estimate)
