"""Benchmark: ingest of business events through the rules (issue 3's ingest criterion).

    .venv/bin/python -m bench.events --events 200000          # SQLite, 3 runs, medians
    .venv/bin/python -m bench.events --events 200000 --postgres
    .venv/bin/python -m bench.events --quick                  # smoke test, seconds
    .venv/bin/python -m bench.events --events 2000 --one-by-one   # EventService.record, one transaction each
    .venv/bin/python -m bench.events --events 5000 --profile  # cProfile of one run

Preparation (untimed): a database made by dangol's migrations, the example program with its
ledger policy, the example ruleset (src/dangol/rules/examples/market.yaml) published, and
`--members` members enrolled. That database is the template each run copies.

Each run, on a fresh copy: `--events` purchase events (seeded: members uniform, 1,000 to
300,000 KRW, 0–2 item categories, one order each, occurred in March 2025 when the ruleset is
in force), built inside the timed loop as an importer must, sent through
`EventService.record_many` in batches of `--batch` (what `dangol events send` does): each
event judged by the rules, posted to the ledger (with the transparency log's entries),
counted and recorded, one transaction a batch (load, decide, write: docs/rules.md).

In the same run, for the ratio: the foundation's plain ledger ingest (bench/ingest.py's
code path, `LedgerService.execute` of Earn operations in batches) of the same number of
earns on a template with the same number of members; and the pure evaluator alone
(`rules.evaluate`, bench/rules.py's inputs) for reference.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from .common import (PROGRAM_ID, analyze, fail, fmt_rate, fmt_runs, machine_info, median, migrate,
                     print_machine, save_results, verdict)

TARGET_RATE = 30_000  # events/s on SQLite, issue 3
PUBLISH_AT = datetime(2025, 2, 1, tzinfo=timezone.utc)  # a month before the ruleset takes effect
EVENTS_FROM = datetime(2025, 3, 1, tzinfo=timezone.utc)
CATEGORIES = ("design", "music", "code", "video", "writing", "photo")


def _clock(at: datetime) -> Any:
    from dangol.domain import FixedClock
    return FixedClock(at)


def prepare(url: str, members: int, seed: int) -> list[str]:
    """The example program, its ruleset published and members enrolled; returns the member ids."""
    from importlib import resources

    from dangol.domain import commands as cmd
    from dangol.domain import EarnRate, ProgramPolicy
    from dangol.domain.errors import DomainError
    from dangol.service.container import Services
    from dangol.service.ledger import Operation

    migrate(url)
    clock = _clock(PUBLISH_AT)
    services = Services.open(url, clock=clock, migrate=False)
    rnd = random.Random(seed)
    ids = [f"m_{rnd.getrandbits(80):020x}" for _ in range(members)]
    try:
        services.programs.create_program(PROGRAM_ID, "Talent market", "KRW",
                                         ProgramPolicy(earn_rate=EarnRate(points=5, per_minor_units=100)))
        services.rulesets.set_policy(PROGRAM_ID, 30, "Asia/Seoul")
        services.rulesets.publish(PROGRAM_ID, (resources.files("dangol.rules") / "examples" / "market.yaml")
                                  .read_text(encoding="utf-8"))
        for lo in range(0, members, 1000):
            ops = [Operation(cmd.Enroll(f"customer-{i}", ids[i]), at=PUBLISH_AT) for i in range(lo, min(members, lo + 1000))]
            for outcome in services.ledger.execute(PROGRAM_ID, ops):
                if isinstance(outcome, DomainError):
                    fail(f"enrolment failed: {outcome.detail}")
    finally:
        services.db.dispose()
    return ids


def make_events(member_ids: Sequence[str], count: int, seed: int, run: int) -> list[Any]:
    from dangol.domain import Money
    from dangol.service.events import EventInput, Item

    rnd = random.Random(seed * 1000 + run)
    span = 31 * 24 * 3600 - 1
    events = []
    for i in range(count):
        amount = rnd.randrange(100, 30_000) * 10
        items = tuple(Item(c, amount) for c in rnd.sample(CATEGORIES, rnd.randrange(0, 3)))
        events.append(EventInput(f"evt-{i}", "purchase", member_id=member_ids[rnd.randrange(len(member_ids))],
                                 occurred_at=EVENTS_FROM + timedelta(seconds=span * i // max(count, 1)),
                                 amount=Money(amount, "KRW"), order_id=f"ord-{i}", items=items))
    return events


def run_events(url: str, events: Sequence[Any], batch: int, one_by_one: bool) -> tuple[float, int]:
    """Seconds for the ingest and the points awarded."""
    from dangol.domain.errors import DomainError
    from dangol.service.container import Services

    services = Services.open(url, clock=_clock(datetime(2025, 6, 1, tzinfo=timezone.utc)), migrate=False)
    points = 0
    try:
        start = time.perf_counter()
        if one_by_one:
            for event in events:
                points += services.events.record(PROGRAM_ID, event)["total_points"]
        else:
            for lo in range(0, len(events), batch):
                for outcome in services.events.record_many(PROGRAM_ID, events[lo:lo + batch]):
                    if isinstance(outcome, DomainError):
                        fail(f"event refused: {outcome.code}: {outcome.detail}")
                    points += outcome["total_points"]
        elapsed = time.perf_counter() - start
    finally:
        services.db.dispose()
    return elapsed, points


def run_ledger(target: Any, workload: Any, batch: int) -> float:
    """The foundation's plain ledger ingest (bench/ingest.py's code path, its template "tpl"): earns/s."""
    from . import ingest

    url = target.snapshot("tpl", "ledger_run")
    elapsed, _ = ingest.run_service(url, workload, batch)
    target.drop("ledger_run")
    return workload.events / elapsed


def evaluator_rate(count: int, seed: int) -> float:
    from dangol.rules.loader import load_example

    from .rules import inputs, run_ours
    return run_ours(load_example(), inputs(2_000, seed), count)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000, help="events per record_many call")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL (DANGOL_BENCH_POSTGRES_URL or "
                        "postgresql://postgres@127.0.0.1:5432/test) instead of SQLite")
    parser.add_argument("--one-by-one", action="store_true", help="EventService.record per event instead")
    parser.add_argument("--profile", action="store_true", help="cProfile of one run, no comparison")
    parser.add_argument("--quick", action="store_true", help="2,000 events, 500 members, 1 run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", default=None, help="also write the results as JSON to this path")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.members, args.repeat = 2_000, 500, 1
    args.db = "postgres" if args.postgres else "sqlite"
    args.url = None
    from .common import target_from_args
    # Files named by process: a smoke run beside a long one must not replace its database.
    target = target_from_args(args, f"events{os.getpid()}")

    info = machine_info()
    print_machine(info)
    print(f"{target.describe()}; {args.events:,} purchase events, {args.members:,} members, "
          f"{'one by one (record)' if args.one_by_one else f'record_many in batches of {args.batch:,}'}, "
          f"{args.repeat} run(s)")
    began = time.perf_counter()
    url = target.create("events_tpl")
    member_ids = prepare(url, args.members, args.seed)
    analyze(target, "events_tpl")
    print(f"  template prepared in {time.perf_counter() - began:.1f} s (untimed)")

    if args.profile:
        events = make_events(member_ids, args.events, args.seed, 0)
        url = target.snapshot("events_tpl", "run")
        profiler = cProfile.Profile()
        profiler.enable()
        elapsed, _ = run_events(url, events, args.batch, args.one_by_one)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("cumulative").print_stats(40)
        out.write("\n---- by own time ----\n")
        stats.sort_stats("tottime").print_stats(25)
        print(f"{args.events:,} events in {elapsed:.2f} s under cProfile ({args.events / elapsed:,.0f} events/s)")
        print(out.getvalue())
        target.drop("run")
        target.drop("events_tpl")
        return 0

    from . import ingest
    workload = ingest.make_workload(args.members, args.events, args.seed)
    ingest.prepare_template(target, workload, args.batch)
    rates: list[float] = []
    ledger_rates: list[float] = []
    for run in range(args.repeat):
        events = make_events(member_ids, args.events, args.seed, run)
        url = target.snapshot("events_tpl", "run")
        elapsed, points = run_events(url, events, args.batch, args.one_by_one)
        target.drop("run")
        rates.append(args.events / elapsed)
        print(f"  run {run + 1}: events {rates[-1]:,.0f}/s ({points:,} points awarded)", flush=True)
        ledger_rates.append(run_ledger(target, workload, args.batch))
        print(f"  run {run + 1}: plain ledger earns {ledger_rates[-1]:,.0f}/s", flush=True)
    evaluations = [evaluator_rate(50_000, args.seed) for _ in range(args.repeat)]
    rate, ledger_rate, evaluation = median(rates), median(ledger_rates), median(evaluations)
    print(f"\nevents through the rules : {fmt_rate(rate)} events/s (median; runs {fmt_runs(rates)})")
    print(f"plain ledger earns       : {fmt_rate(ledger_rate)} events/s (median; runs {fmt_runs(ledger_rates)})")
    print(f"ratio                    : {rate / ledger_rate:.2f}x the plain ledger ingest")
    print(f"pure evaluator alone     : {fmt_rate(evaluation)} evaluations/s (median; runs {fmt_runs(evaluations)})")
    if target.kind == "sqlite":
        print(f"target: >= {TARGET_RATE:,} events/s on SQLite: {verdict(rate >= TARGET_RATE)}")
    save_results(f"events-{target.kind}{'-quick' if args.quick else ''}",
                 {"machine": info, "events": args.events, "members": args.members, "batch": args.batch,
                  "one_by_one": args.one_by_one, "events_per_s": rates, "ledger_per_s": ledger_rates,
                  "evaluations_per_s": evaluations}, args.json)
    for name in ("events_tpl", "tpl"):
        target.drop(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
