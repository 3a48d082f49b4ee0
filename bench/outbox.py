"""The outbox's cost on the write path: earn ingest through `LedgerService.execute` with the
outbox on (every transaction writes its outbox row in the same database transaction, as in
production) and off (`LedgerService.notify = False`), in the same process, on fresh copies of
one template, alternating which goes first.

    .venv/bin/python -m bench.outbox --db sqlite               # 200,000 events, 20,000 members, 3 runs each
    .venv/bin/python -m bench.outbox --db postgres
    .venv/bin/python -m bench.outbox --quick                   # smoke test, seconds

Delivery itself is not on the write path: the dispatcher reads the rows later."""

from __future__ import annotations

import argparse
import sys
import time

from .common import (
    PROGRAM_ID, PostgresTarget, add_db_arguments, fail, fmt_rate, fmt_runs, machine_info, median, postgres_admin_url, print_machine,
    target_from_args,
)
from .ingest import Workload, make_workload, prepare_template


def ingest(url: str, workload: Workload, batch: int, notify: bool) -> float:
    """Seconds to ingest the workload's earns; checks the outbox holds what it should."""
    from dangol.domain.commands import Earn
    from dangol.domain.money import Money
    from dangol.service.container import Services
    from dangol.service.ledger import Operation

    services = Services.open(url, migrate=False)
    services.ledger.notify = notify
    ids, who, amounts, n = workload.member_ids, workload.event_member, workload.event_amount, workload.events
    try:
        start = time.perf_counter()
        for lo in range(0, n, batch):
            services.ledger.execute(PROGRAM_ID, [
                Operation(Earn(ids[who[i]], money=Money(amounts[i], "KRW"), order_ref=f"ord-{i}"), f"evt-{i}")
                for i in range(lo, min(n, lo + batch))])
        elapsed = time.perf_counter() - start
        with services.db.read() as conn:
            rows = conn.exec_driver_sql("SELECT count(*) FROM outbox").scalar()
    finally:
        services.db.dispose()
    if rows != (n if notify else 0):
        fail(f"the outbox holds {rows} rows after {n} earns with the outbox {'on' if notify else 'off'}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outbox", description=__doc__.split("\n\n")[0])
    add_db_arguments(parser)
    parser.add_argument("--events", type=int, default=None, help="earn events per run (default 200,000)")
    parser.add_argument("--members", type=int, default=None, help="members (default 20,000)")
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=None, help="runs of each (default 3)")
    parser.add_argument("--quick", action="store_true", help="10,000 events over 1,000 members, 1 run each")
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args(argv)
    events = args.events or (10_000 if args.quick else 200_000)
    members = args.members or (1_000 if args.quick else 20_000)
    repeat = args.repeat or (1 if args.quick else 3)

    target = target_from_args(args, "outbox")
    if isinstance(target, PostgresTarget):  # its own scratch databases, apart from bench.ingest's
        target = PostgresTarget(postgres_admin_url(args) or "", "dangol_bench_outbox")
    print_machine(machine_info(postgres_admin_url(args)))
    print(f"database: {target.describe()}")
    print(f"workload: {events:,} earn events over {members:,} members, batches of {args.batch:,}, {repeat} run(s) each")
    workload = make_workload(members, events, args.seed)
    rates: dict[bool, list[float]] = {True: [], False: []}
    try:
        prepare_template(target, workload, args.batch)
        for run in range(repeat):
            for notify in ((True, False) if run % 2 == 0 else (False, True)):
                url = target.snapshot("tpl", "main")
                seconds = ingest(url, workload, args.batch, notify)
                rates[notify].append(events / seconds)
                print(f"run {run + 1}, outbox {'on ' if notify else 'off'}: {fmt_rate(events / seconds)} events/s")
                sys.stdout.flush()
                target.drop("main")
    finally:
        for name in ("main", "tpl"):
            try:
                target.drop(name)
            except Exception as error:  # noqa: BLE001 - cleanup must not hide the result
                print(f"warning: could not drop {name}: {error}", file=sys.stderr)
    on, off = median(rates[True]), median(rates[False])
    print()
    print(f"outbox on : {fmt_rate(on)} events/s (median; runs {fmt_runs(rates[True])})")
    print(f"outbox off: {fmt_rate(off)} events/s (median; runs {fmt_runs(rates[False])})")
    print(f"cost      : {1 - on / off:.1%} of the write path's throughput")
    return 0



if __name__ == "__main__":
    sys.exit(main())
