"""A small run of the fraud benchmark (bench/fraud.py) with thresholds: each injected
pattern is caught by its detector with the precision and recall it is documented to reach."""

from __future__ import annotations

from bench.fraud import measure


def test_each_injected_pattern_is_caught_precisely() -> None:
    report = measure(members=600, seed=3)
    for pattern in ("point farming", "referral ring", "account takeover"):
        assert report[pattern]["members"] > 0
        assert report[pattern]["recall"] >= 0.9, (pattern, report[pattern])
        assert report[pattern]["precision"] >= 0.8, (pattern, report[pattern])
