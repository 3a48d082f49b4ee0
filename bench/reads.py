"""Benchmark 4: a member's balance and first history page, with a large ledger loaded.

    .venv/bin/python -m bench.reads --db sqlite                  # 1,000,000 members, 10,000,000 transactions
    .venv/bin/python -m bench.reads --db sqlite --members 100000 --transactions 1000000
    .venv/bin/python -m bench.reads --quick                      # smoke test, seconds
    .venv/bin/python -m bench.reads --db postgres                # the same on PostgreSQL

The full SQLite load takes several minutes and ~10 GB under /tmp; run it in the background
(nohup ... &). `--keep` leaves the loaded database in place and a later run with the same
sizes reuses it (`--reload` forces a new load).

The database is created by dangol's migrations, then bulk-loaded with the driver alone
(sqlite3 executemany / psycopg COPY) with rows the service would have written: each
transaction an earn with its two postings and its lot, every member's cached balance
equal to the sum of its lots. Secondary indexes are dropped for the load and recreated
from their own definitions afterwards, so the final schema is exactly the migrated one.
Idempotency keys are not loaded (reads never touch them). PostgreSQL gets a VACUUM
ANALYZE after the load, as autovacuum would; SQLite gets no ANALYZE, as dangol runs none.

Then, on random members (a fresh sample for each kind of read, kinds in rotating order):
- `LedgerReader.balance(program, member)` and `LedgerReader.history(program, member, limit=20)`,
- baseline: `SELECT * FROM members WHERE id = ?` on one raw driver connection (sqlite3 / psycopg),
each timed call by call; median and p99 per run, and the median of those over `--repeat` runs.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from .common import (
    PROGRAM_ID, add_db_arguments, create_example_program, fail, machine_info, median, migrate, percentile,
    postgres_admin_url, print_machine, save_results, target_from_args, verdict,
)

TARGET_MS = 2.0
LOADED_TABLES = ("members", "transactions", "postings", "lots")
CHUNK = 100_000  # transactions per load transaction
DAY_US = 86_400 * 1_000_000


# ---------------------------------------------------------------- the load

def _secondary_indexes(target: Any, conn: Any) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the droppable indexes of the loaded tables."""
    tables = ", ".join(f"'{t}'" for t in LOADED_TABLES if t != "members")
    if target.kind == "sqlite":
        rows = conn.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                            f"AND tbl_name IN ({tables}) ORDER BY name").fetchall()
    else:
        rows = conn.execute(
            f"SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
            f"AND i.tablename IN ({tables}) AND NOT EXISTS "
            f"(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) ORDER BY i.indexname").fetchall()
    return [(name, sql) for name, sql in rows]


def load(target: Any, name: str, members: int, transactions: int, seed: int) -> dict[str, Any]:
    url = target.create(name)
    migrate(url)
    create_example_program(url)
    started = time.perf_counter()
    rnd = random.Random(seed)
    member_ids = [f"m_{rnd.getrandbits(80):020x}" for _ in range(members)]
    if len(set(member_ids)) != members:
        fail("member id collision; change --seed")
    owner = array("I", (rnd.randrange(members) for _ in range(transactions)))
    amounts = array("I", (rnd.randrange(100, 30_000) * 10 for _ in range(transactions)))  # KRW
    balance = array("q", bytes(8 * members))
    for i in range(transactions):
        balance[owner[i]] += amounts[i] * 5 // 100
    now_us = int(datetime.now(timezone.utc).timestamp() * 1_000_000)
    first_us = now_us - 360 * DAY_US  # a year of history, oldest lots expiring in five days
    validity_us = 365 * DAY_US

    conn = target.raw(name)
    sqlite = target.kind == "sqlite"
    if sqlite:
        conn.execute("PRAGMA synchronous=OFF")  # the loader's own connection only
        conn.execute("PRAGMA cache_size=-1000000")
    indexes = _secondary_indexes(target, conn)
    begin = (lambda: conn.execute("BEGIN")) if sqlite else (lambda: None)
    for index_name, _ in indexes:
        conn.execute(f"DROP INDEX {index_name}")
    if not sqlite:
        conn.commit()

    def write(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if sqlite:
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                             f"({', '.join(['?'] * len(columns))})", rows)
            return
        with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def commit() -> None:
        if sqlite:
            conn.execute("COMMIT")
        else:
            conn.commit()

    enrolled = first_us - DAY_US
    for lo in range(0, members, CHUNK):
        begin()
        write("members", ("id", "program_id", "external_ref", "status", "enrolled_at", "available", "pending",
                          "held", "debt"),
              [(member_ids[i], PROGRAM_ID, f"cust-{i}", "active", enrolled, balance[i], 0, 0, 0)
               for i in range(lo, min(members, lo + CHUNK))])
        commit()
    span = 360 * DAY_US - 60_000_000  # the newest transaction a minute ago
    for lo in range(0, transactions, CHUNK):
        txns, postings, lots = [], [], []
        for i in range(lo, min(transactions, lo + CHUNK)):
            tid = i + 1
            member = member_ids[owner[i]]
            amount = amounts[i]
            points = amount * 5 // 100
            at = first_us + span * i // transactions
            ref = f"ord-{tid}"
            txns.append((tid, PROGRAM_ID, member, "earn", points, at, at, ref, amount, "KRW", None, None, None))
            postings.append((tid, 0, PROGRAM_ID, None, "issued", -points))
            postings.append((tid, 1, PROGRAM_ID, member, "available", points))
            lots.append((tid, PROGRAM_ID, member, tid, "earn", points, points, at, at, at + validity_us, True, ref))
        begin()
        write("transactions", ("id", "program_id", "member_id", "kind", "points", "occurred_at", "recorded_at",
                               "order_ref", "amount_minor", "currency", "reason", "hold_id", "counterparty_id"), txns)
        write("postings", ("transaction_id", "line", "program_id", "member_id", "account", "amount"), postings)
        write("lots", ("id", "program_id", "member_id", "transaction_id", "source", "amount", "remaining",
                       "earned_at", "available_at", "expires_at", "released", "order_ref"), lots)
        commit()
        done = lo + len(txns)
        if done % 1_000_000 == 0 or done == transactions:
            print(f"  loaded {done:,} transactions ({time.perf_counter() - started:.0f} s)")
            sys.stdout.flush()
    index_started = time.perf_counter()
    for _, sql in indexes:
        conn.execute(sql)
    if not sqlite:
        for seq in ("transaction_id_seq", "lot_id_seq"):
            conn.execute(f"SELECT setval('{seq}', {max(transactions, 1)})")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    else:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    elapsed = time.perf_counter() - started
    print(f"  indexes rebuilt{' and VACUUM ANALYZE' if not sqlite else ''} in {time.perf_counter() - index_started:.0f} s; "
          f"load took {elapsed:.0f} s")
    return {"load_seconds": elapsed, "rows_loaded": members + 4 * transactions}


def is_loaded(target: Any, name: str, members: int, transactions: int) -> bool:
    try:
        conn = target.raw(name)
    except Exception:  # noqa: BLE001 - no such database
        return False
    try:
        got = tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("members", "transactions"))
        indexes = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'" if target.kind == "sqlite"
                               else "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'lots'").fetchone()[0]
        return got == (members, transactions) and indexes > 0
    except Exception:  # noqa: BLE001 - a half-made database is not loaded
        return False
    finally:
        conn.close()


# ---------------------------------------------------------------- the reads

def timed(call: Callable[[str], Any], sample: Sequence[str], budget: float) -> list[float]:
    """Milliseconds of each call; stops early when `budget` seconds are spent (a read that
    scans a 10-million-row table would otherwise keep the benchmark busy for hours)."""
    out = []
    clock = time.perf_counter_ns
    deadline = clock() + int(budget * 1e9)
    for member in sample:
        began = clock()
        call(member)
        ended = clock()
        out.append((ended - began) / 1e6)
        if ended > deadline:
            break
    return out


def measure(target: Any, name: str, reads: int, repeat: int, seed: int, budget: float) -> dict[str, Any]:
    from dangol.service.container import Services

    raw = target.raw(name)
    if target.kind == "postgres":
        raw.autocommit = True
    member_ids = [row[0] for row in raw.execute("SELECT id FROM members").fetchall()]
    member_ids.sort()
    pk_sql = f"SELECT * FROM members WHERE id = {target.mark}"
    services = Services.open(target.url(name), migrate=False)
    reader = services.reader
    calls: dict[str, Callable[[str], Any]] = {
        "raw pk select": lambda m: raw.execute(pk_sql, (m,)).fetchone(),
        "balance": lambda m: reader.balance(PROGRAM_ID, m),
        "history(limit=20)": lambda m: reader.history(PROGRAM_ID, m, limit=20),
    }
    rnd = random.Random(seed + 1)
    try:
        # the balance the reader computes must be the cached one the load wrote
        deadline = time.monotonic() + budget
        for member in rnd.sample(member_ids, min(20, len(member_ids))):
            cached = raw.execute(f"SELECT available FROM members WHERE id = {target.mark}", (member,)).fetchone()[0]
            got = reader.balance(PROGRAM_ID, member)["available"]
            page = reader.history(PROGRAM_ID, member, limit=20)
            if got != cached:
                fail(f"balance of {member} is {got}, the loaded ledger says {cached}")
            if page.items and page.items[0]["kind"] != "earn":
                fail("history returned something the load did not write")
            if time.monotonic() > deadline:
                break
        for call in calls.values():  # warm-up, untimed
            timed(call, rnd.sample(member_ids, min(200, len(member_ids))), budget / 4)
        runs: dict[str, list[list[float]]] = {kind: [] for kind in calls}
        kinds = list(calls)
        for run in range(repeat):
            order = kinds[run % len(kinds):] + kinds[:run % len(kinds)]
            for kind in order:
                runs[kind].append(timed(calls[kind], rnd.sample(member_ids, min(reads, len(member_ids))), budget))
        sizes = [len(reader.history(PROGRAM_ID, m, limit=20).items) for m in rnd.sample(member_ids, 20)]
        lots = [len(reader.lots(PROGRAM_ID, m, limit=200).items) for m in rnd.sample(member_ids, 20)]
    finally:
        services.db.dispose()
        raw.close()
    return {"runs": runs, "history_items_mean": sum(sizes) / len(sizes), "open_lots_mean": sum(lots) / len(lots)}


def profile_reads(target: Any, name: str, kind: str, reads: int, seed: int, budget: float) -> str:
    import cProfile
    import io
    import pstats

    from dangol.service.container import Services

    raw = target.raw(name)
    member_ids = sorted(row[0] for row in raw.execute("SELECT id FROM members").fetchall())
    raw.close()
    services = Services.open(target.url(name), migrate=False)
    reader = services.reader
    call: Callable[[str], Any] = ((lambda m: reader.balance(PROGRAM_ID, m)) if kind == "balance"
                                  else (lambda m: reader.history(PROGRAM_ID, m, limit=20)))
    sample = random.Random(seed + 2).sample(member_ids, min(reads, len(member_ids)))
    timed(call, sample[:50], budget / 4)  # warm-up
    profiler = cProfile.Profile()
    profiler.enable()
    done = timed(call, sample, budget)
    profiler.disable()
    services.db.dispose()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(25)
    out.write("\n---- top 15 by own time (tottime) ----\n")
    stats.sort_stats("tottime").print_stats(15)
    return f"{len(done)} {kind} reads under cProfile, median {percentile(done, 50):.3f} ms\n" + out.getvalue()


# ---------------------------------------------------------------- main

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reads", description=__doc__.split("\n\n")[0])
    add_db_arguments(parser)
    parser.add_argument("--members", type=int, default=None, help="members loaded (default 1,000,000)")
    parser.add_argument("--transactions", type=int, default=None, help="transactions loaded (default 10,000,000)")
    parser.add_argument("--reads", type=int, default=None, help="timed reads of each kind per run (default 2,000)")
    parser.add_argument("--repeat", type=int, default=None, help="runs; medians are quoted (default 3)")
    parser.add_argument("--quick", action="store_true", help="10,000 members, 100,000 transactions, 500 reads")
    parser.add_argument("--keep", action="store_true", help="keep the loaded database for later runs")
    parser.add_argument("--reload", action="store_true", help="load again even if a kept database fits")
    parser.add_argument("--budget", type=float, default=120.0,
                        help="seconds at most per kind of read and run; fewer reads are timed if it runs out")
    parser.add_argument("--profile", choices=("balance", "history"), default=None,
                        help="cProfile --reads reads of one kind (on a kept or fresh load) and print the top entries")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(argv)
    members = args.members or (10_000 if args.quick else 1_000_000)
    transactions = args.transactions or (100_000 if args.quick else 10_000_000)
    reads = args.reads or (500 if args.quick else 2_000)
    repeat = args.repeat or (1 if args.quick else 3)
    if min(members, reads, repeat) < 1 or transactions < 0:
        fail("sizes must be positive")

    target = target_from_args(args, "reads")
    name = f"{members}m_{transactions}t" if target.kind == "postgres" else f"{members}m-{transactions}t"
    name = f"reads_{name}" if target.kind == "postgres" else name
    info = machine_info(postgres_admin_url(args))
    print_machine(info)
    print(f"database: {target.describe()}")
    print(f"ledger:   {members:,} members, {transactions:,} earn transactions "
          f"({2 * transactions:,} postings, {transactions:,} lots)")
    sys.stdout.flush()
    loaded: dict[str, Any] = {"load_seconds": None, "reused": True}
    try:
        if args.reload or not is_loaded(target, name, members, transactions):
            print("loading (raw bulk insert into the migrated schema) ...")
            sys.stdout.flush()
            loaded = load(target, name, members, transactions, args.seed) | {"reused": False}
        else:
            print("reusing the database kept by an earlier run (--reload to load again)")
        size = target.size(name)
        print(f"database size: {size / 1e9:.2f} GB")
        if args.profile:
            print(profile_reads(target, name, args.profile, reads, args.seed, args.budget))
            return 0
        result = measure(target, name, reads, repeat, args.seed, args.budget)
    finally:
        if not args.keep:
            target.drop(name)
        else:
            print(f"kept: {target.url(name)}")

    print(f"\nmean history page: {result['history_items_mean']:.1f} transactions; "
          f"mean open lots per member: {result['open_lots_mean']:.1f}")
    print(f"\n{'read':<18} {'median ms (per run)':<28} {'p99 ms (per run)':<28} {'median':>8} {'p99':>8}  reads/run")
    summary: dict[str, dict[str, float]] = {}
    for kind, runs in result["runs"].items():
        medians = [percentile(r, 50) for r in runs]
        p99s = [percentile(r, 99) for r in runs]
        summary[kind] = {"median_ms": median(medians), "p99_ms": median(p99s)}
        print(f"{kind:<18} {' '.join(f'{v:.3f}' for v in medians):<28} {' '.join(f'{v:.3f}' for v in p99s):<28} "
              f"{summary[kind]['median_ms']:>8.3f} {summary[kind]['p99_ms']:>8.3f}  "
              f"{'/'.join(str(len(r)) for r in runs)}")
        if any(len(r) < reads for r in runs):
            print(f"  ({kind}: the {args.budget:g} s budget ran out before {reads:,} reads)")
    base = summary["raw pk select"]["median_ms"]
    print()
    for kind in ("balance", "history(limit=20)"):
        m = summary[kind]["median_ms"]
        print(f"{kind:<18}: median {m:.3f} ms = {m / base:.0f}x the raw primary-key select; "
              f"target < {TARGET_MS} ms median: {verdict(m < TARGET_MS)}")
    save_results(f"reads-{target.kind}{'-quick' if args.quick else ''}", {
        "benchmark": "reads", "db": target.kind, "machine": info, "members": members,
        "transactions": transactions, "reads": reads, "repeat": repeat, "database_bytes": size, **loaded,
        "summary": summary, "history_items_mean": result["history_items_mean"],
        "open_lots_mean": result["open_lots_mean"],
        "per_run": {k: {"median_ms": [percentile(r, 50) for r in v], "p99_ms": [percentile(r, 99) for r in v]}
                    for k, v in result["runs"].items()},
    }, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
