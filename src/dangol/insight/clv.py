"""Customer lifetime value: the discounted spend a member is expected to bring.

    CLV = sum over periods i = 1..H of  (E[Y(i d)] - E[Y((i-1) d)]) * E[Z | x, m_x] * margin / (1 + k)^i

where E[Y(t)] is BG/NBD's expected purchases in the next t time units (d the length of a
period in those units), E[Z | x, m_x] Gamma-Gamma's expected spend per purchase and k the
discount rate per period (e.g. 0.01 a month for about 12.7 % a year). Purchases in period i
are discounted at its end. The result is in the spend's own units (minor units of money);
adapters round it half-even to whole minor units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .bgnbd import BgNbd
from .gamma_gamma import GammaGamma
from .summary import PurchaseSummary

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ClvTerms:
    periods: int  # H, the horizon in periods
    period_length: float  # d, in the summary's time unit (30 days; 4.35 weeks)
    discount_rate: float  # k, per period
    margin: float = 1.0  # the share of spend that is value (1 = revenue)

    def __post_init__(self) -> None:
        if self.periods < 1 or self.periods > 1200:
            raise ValueError("the horizon is 1 to 1,200 periods")
        if not self.period_length > 0:
            raise ValueError("a period has a positive length")
        if not 0 <= self.discount_rate < 1:
            raise ValueError("the discount rate per period is at least 0 and below 1")
        if not 0 < self.margin <= 1:
            raise ValueError("the margin is above 0 and at most 1")


def lifetime_value(purchases: BgNbd, spend: GammaGamma, members: PurchaseSummary, terms: ClvTerms) -> Floats:
    per_purchase = spend.expected_spend(members.frequency, members.monetary) * terms.margin
    value = np.zeros(len(members))
    previous = np.zeros(len(members))
    for i in range(1, terms.periods + 1):
        cumulative = purchases.expected_purchases(i * terms.period_length, members.frequency,
                                                  members.recency, members.T)
        value += (cumulative - previous) / (1 + terms.discount_rate) ** i
        previous = cumulative
    return np.asarray(value * per_purchase, dtype=np.float64)
