"""Simulated experiments: the A/A false-positive rate of the always-valid (mSPRT) test
peeked daily, against a t-test peeked daily, and the power on an injected effect.

    .venv/bin/python -m bench.experiments            # 1,000 A/A and 1,000 A/B experiments
    .venv/bin/python -m bench.experiments --quick

Each experiment runs `days` days; every day `per_day` new members join each arm. A member's
spend is 0 with probability 0.7, else log-normal (median 20, sigma 1): skewed like real
spend. The operator looks at the end of every day. The same code path as the product:
dangol.insight.sequential for the mSPRT, tau a tenth of the pooled standard deviation
at each look, as dangol.insight.effects uses by default."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
from scipy import stats

from dangol.insight.sequential import always_valid_p


@dataclass(frozen=True, slots=True)
class Simulation:
    msprt_rejected: np.ndarray  # per experiment: rejected at some look
    msprt_first_day: np.ndarray  # the first day of rejection (days + 1 when never)
    naive_rejected: np.ndarray  # a Welch t-test at every look
    final_rejected: np.ndarray  # a Welch t-test once, at the end (the fixed horizon)


def simulate(experiments: int, days: int, per_day: int, lift: float, seed: int, alpha: float = 0.05) -> Simulation:
    rng = np.random.default_rng(seed)
    shape = (experiments, 2, days, per_day)
    spend = np.where(rng.random(shape) < 0.3, rng.lognormal(np.log(20.0), 1.0, shape), 0.0)
    spend[:, 1] *= 1 + lift
    sums = spend.sum(axis=3).cumsum(axis=2)  # (experiments, arm, day)
    squares = (spend**2).sum(axis=3).cumsum(axis=2)
    n = per_day * np.arange(1, days + 1, dtype=np.float64)
    mean = sums / n
    var = (squares - n * mean**2) / (n - 1)
    variance = var[:, 0] / n + var[:, 1] / n
    difference = mean[:, 1] - mean[:, 0]
    tau_squared = (0.1**2) * (var[:, 0] + var[:, 1]) / 2
    p_always = always_valid_p(difference, variance, tau_squared)
    rejected_by_day = p_always < alpha
    first = np.where(rejected_by_day.any(axis=1), rejected_by_day.argmax(axis=1) + 1, days + 1)
    df = variance**2 / ((var[:, 0] / n) ** 2 / (n - 1) + (var[:, 1] / n) ** 2 / (n - 1))
    p_naive = 2 * stats.t.sf(np.abs(difference) / np.sqrt(variance), df)
    return Simulation(rejected_by_day.any(axis=1), first, (p_naive < alpha).any(axis=1), p_naive[:, -1] < alpha)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--experiments", type=int, default=1000)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--per-day", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    experiments = 100 if args.quick else args.experiments
    print(f"{experiments:,} experiments, {args.days} daily looks, {args.per_day} new members per arm per day, "
          "alpha = 0.05")
    for lift in (0.0, 0.05, 0.10, 0.20):
        start = time.perf_counter()
        run = simulate(experiments, args.days, args.per_day, lift, args.seed)
        detected = run.msprt_first_day[run.msprt_rejected]
        print(f"  lift {lift:4.0%}: mSPRT peeked daily rejects {run.msprt_rejected.mean():6.1%}"
              f" (median first day {np.median(detected) if len(detected) else float('nan'):4.0f}); "
              f"t-test peeked daily {run.naive_rejected.mean():6.1%}; t-test once at day {args.days} "
              f"{run.final_rejected.mean():6.1%}  [{time.perf_counter() - start:.1f} s]")


if __name__ == "__main__":
    main()
