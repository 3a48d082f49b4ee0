"""Benchmark: the churn classifier against BG/NBD on the same holdout, on CDNOW and on the
demo program (loaded into a scratch SQLite database, every member granting personalisation).

    .venv/bin/python -m bench.churn                    # CDNOW, and the demo with 2,000 members
    .venv/bin/python -m bench.churn --members 300      # the demo as `dangol demo` loads it"""

from __future__ import annotations

import argparse
import time

from dangol.demo.loader import load_demo
from dangol.insight.churn import ChurnComparison, Purchases, compare
from dangol.service.container import Services
from dangol.service.insight.training import InsightModels
from dangol.storage.insight_reads import purchases

from .cdnow import FIRST_DAY, LAST_DAY, load_cdnow
from .common import WORKDIR, machine_info, print_machine


def show(name: str, result: ChurnComparison, horizon: int) -> None:
    print(f"{name}: horizon {horizon} days, {result.train_members:,} members in training, "
          f"{result.holdout_members:,} in the holdout ({result.holdout_churn_rate:.1%} churned)")
    for label, auc, calibration in (
            ("classifier (HistGradientBoosting)", result.classifier_auc, result.classifier_calibration),
            ("BG/NBD P(no purchase in horizon)", result.quiet_auc, result.quiet_calibration),
            ("BG/NBD 1 - P(alive)", result.baseline_auc, result.baseline_calibration)):
        print(f"  {label:<36} AUC {auc:.3f}   Brier {calibration.brier:.3f}   "
              f"ECE {calibration.expected_calibration_error:.3f}")
    best = max(result.quiet_auc, result.baseline_auc)
    verdict = "beats" if result.classifier_auc > best else "does NOT beat"
    print(f"  the classifier {verdict} the best BG/NBD score by {result.classifier_auc - best:+.3f} AUC")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--horizon", type=int, default=90)
    args = parser.parse_args(argv)
    print_machine(machine_info())
    raw = load_cdnow()
    cdnow = Purchases(raw.member, raw.day - FIRST_DAY, raw.spend)
    for horizon in (91, 182):
        show("CDNOW", compare(cdnow, LAST_DAY - FIRST_DAY - horizon, horizon), horizon)
    path = WORKDIR / f"churn-demo-{args.members}.db"
    WORKDIR.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    services = Services.open(f"sqlite:///{path}")
    try:
        start = time.perf_counter()
        load_demo(services, members=args.members)
        with services.db.read() as conn:
            buyers = sorted({member for member, _, _ in purchases(conn, "market")})
        for member in buyers:
            services.consents.change("market", member, {"personalisation": True}, "cli")
        print(f"\ndemo: {args.members:,} members loaded and consenting in {time.perf_counter() - start:.0f} s")
        show("demo", InsightModels(services.db, services.clock).churn_comparison("market", args.horizon), args.horizon)
    finally:
        services.db.dispose()


if __name__ == "__main__":
    main()
