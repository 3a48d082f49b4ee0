"""BG/NBD and Gamma-Gamma against the published CDNOW figures, against lifetimes' own
predictions, and at the extremes where direct implementations overflow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifetimes import BetaGeoFitter, GammaGammaFitter

from bench.cdnow import CALIBRATION_END, load_cdnow
from dangol.insight import bgnbd, gamma_gamma
from dangol.insight.clv import ClvTerms, lifetime_value
from dangol.insight.errors import InsufficientData
from dangol.insight.estimation import Estimate
from dangol.insight.summary import PurchaseSummary, group_triples, summarise
from dangol.insight.summary import grouped as ungrouped


@pytest.fixture(scope="module")
def cdnow() -> PurchaseSummary:
    purchases = load_cdnow()
    return summarise(purchases.member, purchases.day, purchases.spend, CALIBRATION_END, unit=7.0)


@pytest.fixture(scope="module")
def fitted(cdnow: PurchaseSummary) -> tuple[bgnbd.BgNbd, gamma_gamma.GammaGamma]:
    return (bgnbd.fit(group_triples(cdnow.frequency, cdnow.recency, cdnow.T)),
            gamma_gamma.fit(cdnow.frequency, cdnow.monetary))


def significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits - 1}e}")


def test_the_cdnow_calibration_sample_is_the_papers(cdnow: PurchaseSummary) -> None:
    assert len(cdnow) == 2357
    assert int((cdnow.frequency > 0).sum()) == 946
    assert cdnow.T.max() == pytest.approx(38.86, abs=0.005)


def test_bgnbd_finds_the_published_cdnow_parameters(fitted: tuple[bgnbd.BgNbd, gamma_gamma.GammaGamma]) -> None:
    model = fitted[0]
    assert [significant(model.estimate[n]) for n in ("r", "alpha", "a", "b")] == [0.243, 4.41, 0.793, 2.43]
    assert model.estimate.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    # Published to three decimals: alpha = 4.414, b = 2.426.
    assert round(model.alpha, 3) == 4.414 and round(model.b, 3) == 2.426
    errors = model.estimate.standard_errors
    assert np.all(np.isfinite(errors)) and np.all(errors > 0)
    assert model.estimate.standard_error("r") == pytest.approx(0.0126, abs=0.0005)


def test_gamma_gamma_finds_the_published_cdnow_parameters(fitted: tuple[bgnbd.BgNbd, gamma_gamma.GammaGamma]) -> None:
    model = fitted[1]
    assert [significant(model.estimate[n]) for n in ("p", "q", "gamma")] == [6.25, 3.74, 15.4]
    assert round(model.gamma, 2) == 15.44
    assert np.all(np.isfinite(model.estimate.standard_errors))


def test_predictions_agree_with_lifetimes_given_the_same_parameters(
        cdnow: PurchaseSummary, fitted: tuple[bgnbd.BgNbd, gamma_gamma.GammaGamma]) -> None:
    model, spend = fitted
    peer = BetaGeoFitter()
    peer.params_ = pd.Series({"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b})
    theirs = peer.conditional_expected_number_of_purchases_up_to_time(39.0, cdnow.frequency, cdnow.recency, cdnow.T)
    ours = model.expected_purchases(39.0, cdnow.frequency, cdnow.recency, cdnow.T)
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-8)
    theirs_alive = peer.conditional_probability_alive(cdnow.frequency, cdnow.recency, cdnow.T)
    np.testing.assert_allclose(model.p_alive(cdnow.frequency, cdnow.recency, cdnow.T), np.asarray(theirs_alive),
                               rtol=1e-10)
    spend_peer = GammaGammaFitter()
    spend_peer.params_ = pd.Series({"p": spend.p, "q": spend.q, "v": spend.gamma})
    repeat = cdnow.frequency > 0
    theirs_spend = spend_peer.conditional_expected_average_profit(pd.Series(cdnow.frequency[repeat]),
                                                                  pd.Series(cdnow.monetary[repeat]))
    np.testing.assert_allclose(spend.expected_spend(cdnow.frequency[repeat], cdnow.monetary[repeat]),
                               np.asarray(theirs_spend), rtol=1e-10)


def test_grouping_by_triples_changes_nothing(cdnow: PurchaseSummary,
                                             fitted: tuple[bgnbd.BgNbd, gamma_gamma.GammaGamma]) -> None:
    grouped = group_triples(cdnow.frequency, cdnow.recency, cdnow.T)
    assert len(grouped.frequency) < len(cdnow) and grouped.members == len(cdnow)
    theta = fitted[0].estimate.values
    one_each = ungrouped(cdnow.frequency, cdnow.recency, cdnow.T, np.ones(len(cdnow)))
    assert bgnbd.log_likelihood(theta, grouped)[0] == pytest.approx(bgnbd.log_likelihood(theta, one_each)[0])


def test_the_analytic_gradient_is_the_likelihoods(cdnow: PurchaseSummary) -> None:
    grouped = group_triples(cdnow.frequency, cdnow.recency, cdnow.T)
    theta = np.array([0.5, 3.0, 1.2, 2.0])
    _, gradient = bgnbd.log_likelihood(theta, grouped)
    for j in range(4):
        step = np.zeros(4)
        step[j] = 1e-6
        numeric = (bgnbd.log_likelihood(theta + step, grouped)[0] - bgnbd.log_likelihood(theta - step, grouped)[0]) / 2e-6
        assert gradient[j] == pytest.approx(numeric, rel=1e-5)


def test_clv_is_finite_positive_and_falls_with_the_discount_rate(
        cdnow: PurchaseSummary, fitted: tuple[bgnbd.BgNbd, gamma_gamma.GammaGamma]) -> None:
    model, spend = fitted
    undiscounted = lifetime_value(model, spend, cdnow, ClvTerms(periods=12, period_length=52 / 12, discount_rate=0))
    discounted = lifetime_value(model, spend, cdnow, ClvTerms(periods=12, period_length=52 / 12, discount_rate=0.01))
    assert np.all(np.isfinite(discounted)) and np.all(discounted > 0)
    assert np.all(discounted < undiscounted)
    # Undiscounted, CLV is expected purchases over the year times expected spend.
    year = model.expected_purchases(52.0, cdnow.frequency, cdnow.recency, cdnow.T)
    np.testing.assert_allclose(undiscounted, year * spend.expected_spend(cdnow.frequency, cdnow.monetary), rtol=1e-9)


def test_too_few_members_is_refused_with_the_reason() -> None:
    few = group_triples(np.array([1.0, 0.0, 2.0]), np.array([3.0, 0.0, 5.0]), np.array([6.0, 6.0, 6.0]))
    with pytest.raises(InsufficientData, match="at least 30 members"):
        bgnbd.fit(few)


def test_no_repeat_buyers_is_refused_not_nan() -> None:
    nobody_returns = group_triples(np.zeros(500), np.zeros(500), np.linspace(1, 50, 500))
    with pytest.raises(InsufficientData, match="bought again"):
        bgnbd.fit(nobody_returns)
    with pytest.raises(InsufficientData, match="bought again"):
        gamma_gamma.fit(np.zeros(500), np.zeros(500))


def test_identical_spend_is_refused() -> None:
    with pytest.raises(InsufficientData, match="varies"):
        gamma_gamma.fit(np.full(50, 2.0), np.full(50, 10.0))


def test_an_empty_history_is_refused() -> None:
    with pytest.raises(InsufficientData, match="no purchases"):
        summarise(np.array([1], dtype=np.int64), np.array([10], dtype=np.int64), np.array([5.0]), end_day=5)


@settings(max_examples=200, deadline=None)
@given(x=st.integers(0, 5000), recency_share=st.floats(0, 1), T=st.floats(0.01, 1e5),
       r=st.floats(0.01, 50), alpha=st.floats(0.01, 1e4), a=st.floats(0.01, 50), b=st.floats(0.01, 50))
def test_p_alive_is_a_probability_at_any_scale(x: int, recency_share: float, T: float,
                                                r: float, alpha: float, a: float, b: float) -> None:
    """Where the direct formula's ((alpha+T)/(alpha+t_x))^(r+x) overflows, the log form does not."""
    values = np.array([r, alpha, a, b])
    model = bgnbd.BgNbd(Estimate(("r", "alpha", "a", "b"), values, values, 0.0, 1, 0))
    recency = T * recency_share if x > 0 else 0.0
    alive = model.p_alive(np.array([float(x)]), np.array([recency]), np.array([T]))
    assert np.all(np.isfinite(alive)) and 0 <= alive[0] <= 1
    if x == 0:
        assert alive[0] == 1
