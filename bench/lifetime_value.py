"""Benchmark: BG/NBD and Gamma-Gamma fit time, dangol.insight against `lifetimes` 0.11.3.

    .venv/bin/python -m bench.lifetime_value                 # CDNOW, then 10,000,000 synthetic customers
    .venv/bin/python -m bench.lifetime_value --quick         # CDNOW, then 100,000 customers

On CDNOW (2,357 customers, 39-week calibration) both fit the same summary, 5 runs each,
medians; the parameters and log-likelihoods are printed side by side. At scale, customers
are drawn from the BG/NBD process itself with CDNOW's parameters, ages and recencies in
whole days (expressed in weeks): dangol groups them by (frequency, recency, T) and fits
once. The peer is given the same data two ways, each in a child process with a time limit
(`--peer-timeout`, seconds) so that a failure, an overflow or a stall is recorded rather
than hanging the run: one row per customer, as its documentation shows (against dangol's
grouping and fit together), and grouped by dangol with its `weights` argument (against
dangol's fit alone)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from dangol.insight import bgnbd, gamma_gamma
from dangol.insight.summary import group_triples, summarise

from .cdnow import CALIBRATION_END, load_cdnow
from .common import machine_info, median, print_machine, save_results

CDNOW_PARAMETERS = (0.243, 4.414, 0.793, 2.426)


def synthetic(customers: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency, recency, T) in weeks, from the BG/NBD process: T whole days in 1..273,
    lambda ~ Gamma(r, 1/alpha), p ~ Beta(a, b); the customer drops out at repeat purchase K ~
    Geometric(p); N(T) ~ Poisson(lambda T) purchases would happen while alive; x = min(K, N),
    and the x-th of N uniform arrival times is T * Beta(x, N - x + 1), floored to a day."""
    r, alpha, a, b = CDNOW_PARAMETERS
    rng = np.random.default_rng(seed)
    days = rng.integers(1, 274, customers)
    T = days / 7.0
    rate = rng.gamma(r, 1 / alpha, customers)
    p = rng.beta(a, b, customers)
    arrivals = rng.poisson(rate * T)
    drop = rng.geometric(p)
    x = np.minimum(drop, arrivals)
    buying = x > 0
    share = np.zeros(customers)
    share[buying] = rng.beta(x[buying], arrivals[buying] - x[buying] + 1)
    recency_days = np.floor(share * days)
    return x.astype(np.float64), recency_days / 7.0, T


def ours(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> tuple[float, bgnbd.BgNbd, int, float]:
    """(seconds in all, the model, distinct triples, seconds of the grouping alone)."""
    start = time.perf_counter()
    grouped = group_triples(frequency, recency, T)
    grouping = time.perf_counter() - start
    model = bgnbd.fit(grouped)
    return time.perf_counter() - start, model, len(grouped.frequency), grouping


def peer_child(path: str, mode: str) -> None:
    """Run in a child process: fit lifetimes on the saved arrays, print one result line."""
    import pandas as pd  # the peer's own dependency
    from lifetimes import BetaGeoFitter

    data = np.load(path)
    frequency, recency, T = data["frequency"], data["recency"], data["T"]
    fitter = BetaGeoFitter()
    grouped = group_triples(frequency, recency, T) if mode == "grouped" else None
    start = time.perf_counter()  # the peer's fit() alone: grouping is dangol's, done before
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if grouped is not None:
            fitter.fit(pd.Series(grouped.frequency), pd.Series(grouped.recency), pd.Series(grouped.T),
                       weights=pd.Series(grouped.weight))
        else:
            fitter.fit(pd.Series(frequency), pd.Series(recency), pd.Series(T))
    elapsed = time.perf_counter() - start
    params = fitter.params_
    notes = sorted({str(w.message).splitlines()[0][:120] for w in caught})
    print(f"RESULT {elapsed:.3f} {params['r']:.9g} {params['alpha']:.9g} {params['a']:.9g} {params['b']:.9g} "
          f"| {' ; '.join(notes)}")


def peer(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, mode: str, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "summary.npz")
        np.savez(path, frequency=frequency, recency=recency, T=T)
        try:
            done = subprocess.run([sys.executable, "-m", "bench.lifetime_value", "--peer-child", path, mode],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"failed": f"no answer within {timeout:.0f} s (killed)"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"failed": f"exit status {done.returncode}: {tail[:300]}"}
    figures, _, notes = lines[-1][len("RESULT "):].partition(" | ")
    seconds, r, alpha, a, b = (float(v) for v in figures.split())
    # The peer's own figure is a penalised mean; the same log-likelihood as ours is comparable.
    ll = bgnbd.log_likelihood(np.array([r, alpha, a, b]), group_triples(frequency, recency, T))[0]
    return {"seconds": seconds, "r": r, "alpha": alpha, "a": a, "b": b, "log_likelihood": ll, "warnings": notes}


def show(label: str, seconds: float, r: float, alpha: float, a: float, b: float, ll: float) -> None:
    print(f"  {label:<34} {seconds:9.3f} s   r={r:.4f} alpha={alpha:.4f} a={a:.4f} b={b:.4f}  LL={ll:,.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--customers", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--peer-timeout", type=float, default=1800)
    parser.add_argument("--seed", type=int, default=2005)
    parser.add_argument("--json")
    parser.add_argument("--peer-child", nargs=2, metavar=("NPZ", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer_child:
        peer_child(*args.peer_child)
        return
    customers = 100_000 if args.quick else args.customers
    runs = 2 if args.quick else args.runs
    info = machine_info()
    info["blas_threads"] = "as the library chooses"
    print_machine(info)
    results: dict[str, Any] = {"machine": info, "customers": customers}

    purchases = load_cdnow()
    cdnow = summarise(purchases.member, purchases.day, purchases.spend, CALIBRATION_END, unit=7.0)
    print(f"\nCDNOW: {len(cdnow):,} customers, 39-week calibration, {runs} runs each (medians)")
    our_times = []
    for _ in range(runs):
        seconds, model, _, _ = ours(cdnow.frequency, cdnow.recency, cdnow.T)
        our_times.append(seconds)
    spend_start = time.perf_counter()
    spend = gamma_gamma.fit(cdnow.frequency, cdnow.monetary)
    spend_seconds = time.perf_counter() - spend_start
    peer_runs = [peer(cdnow.frequency, cdnow.recency, cdnow.T, "rows", args.peer_timeout) for _ in range(runs)]
    good = [run for run in peer_runs if "seconds" in run]
    show("dangol.insight (BG/NBD)", median(our_times), model.r, model.alpha, model.a, model.b,
         model.estimate.log_likelihood)
    cdnow_result: dict[str, Any] = {"dangol_seconds": median(our_times), "dangol_runs": our_times,
                                    "dangol": model.estimate.as_dict(), "dangol_ll": model.estimate.log_likelihood,
                                    "gamma_gamma": spend.estimate.as_dict(), "gamma_gamma_seconds": spend_seconds}
    if good:
        best = good[0]
        peer_seconds = median([run["seconds"] for run in good])
        show("lifetimes 0.11.3 (BetaGeoFitter)", peer_seconds, best["r"], best["alpha"], best["a"], best["b"],
             best["log_likelihood"])
        print(f"  ratio (lifetimes / dangol): {peer_seconds / median(our_times):.1f}x"
              "  (lifetimes' time is its fit() alone, measured inside its own process)")
        cdnow_result.update(lifetimes_seconds=peer_seconds, lifetimes=best)
    else:
        print(f"  lifetimes failed: {peer_runs[0]['failed']}")
        cdnow_result["lifetimes"] = peer_runs[0]
    print(f"  Gamma-Gamma: p={spend.p:.4f} q={spend.q:.4f} gamma={spend.gamma:.4f} in {spend_seconds:.3f} s")
    results["cdnow"] = cdnow_result

    print(f"\nSynthetic: {customers:,} customers drawn from BG/NBD(r, alpha, a, b) = {CDNOW_PARAMETERS}")
    start = time.perf_counter()
    frequency, recency, T = synthetic(customers, args.seed)
    print(f"  drawn in {time.perf_counter() - start:.1f} s; {int((frequency > 0).sum()):,} repeat buyers, "
          f"max frequency {int(frequency.max())}")
    seconds, model, triples, grouping = ours(frequency, recency, T)
    show(f"dangol.insight ({triples:,} triples)", seconds, model.r, model.alpha, model.a, model.b,
         model.estimate.log_likelihood)
    print(f"    of which grouping {grouping:.3f} s, fit with standard errors {seconds - grouping:.3f} s")
    print("  standard errors: " + ", ".join(f"{n}={model.estimate.standard_error(n):.5f}"
                                            for n in ("r", "alpha", "a", "b")))
    scale: dict[str, Any] = {"dangol_seconds": seconds, "dangol_grouping_seconds": grouping, "triples": triples, "dangol": model.estimate.as_dict(),
                             "dangol_ll": model.estimate.log_likelihood}
    for mode in ("rows", "grouped"):
        outcome = peer(frequency, recency, T, mode, args.peer_timeout)
        scale[f"lifetimes_{mode}"] = outcome
        label = f"lifetimes, {'one row per customer' if mode == 'rows' else 'grouped, weights='}"
        if "seconds" in outcome:
            show(label, outcome["seconds"], outcome["r"], outcome["alpha"], outcome["a"], outcome["b"],
                 outcome["log_likelihood"])
            mine = seconds if mode == "rows" else seconds - grouping
            print(f"    ratio (lifetimes / dangol{'' if mode == 'rows' else ', fits alone'}): "
                  f"{outcome['seconds'] / mine:.1f}x; warnings: {outcome['warnings'] or 'none'}")
        else:
            print(f"  {label}: FAILED, {outcome['failed']}")
    results["synthetic"] = scale
    save_results("lifetime_value", results, args.json)


if __name__ == "__main__":
    main()
