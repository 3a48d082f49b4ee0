"""Benchmark: the member portal's pages, server time, with a large ledger loaded.

    .venv/bin/python -m bench.portal --db sqlite --members 1000000 --transactions 2000000
    .venv/bin/python -m bench.portal --quick                 # 10,000 members, seconds
    .venv/bin/python -m bench.portal --db postgres --keep    # the same on PostgreSQL

The ledger is bench.reads' bulk load (earn transactions with their postings and lots, in
the migrated schema; `--keep` and a later run with the same sizes reuse it), plus the
example ruleset (rules, tiers, coupons, challenges) published before the history begins.
Then, for `--members-timed` random members, a portal session is opened (a link issued and
used, as a member would) and each page is requested through the whole app in process (the
ASGI stack, the session lookup, the service reads, the template in the member's language),
with no network: each request timed call by call; median and p99 per page. The target is a
page's server time under 50 ms.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timezone
from typing import Any

from .common import (
    PROGRAM_ID, add_db_arguments, fail, machine_info, percentile, postgres_admin_url, print_machine, save_results,
    target_from_args, verdict,
)
from .reads import is_loaded, load

TARGET_MS = 50.0
PAGES = ("", "history", "act", "rules")


def measure(url: str, sample: int, seed: int) -> dict[str, list[float]]:
    from fastapi.testclient import TestClient

    from dangol.api import create_app
    from dangol.demo.loader import publish_example
    from dangol.service.container import Services

    services = Services.open(url, migrate=False)
    try:
        publish_example(services, datetime(2020, 1, 1, tzinfo=timezone.utc))
        with services.db.read() as conn:
            ids = [row[0] for row in conn.exec_driver_sql("SELECT id FROM members").fetchall()]
        members = random.Random(seed).sample(ids, min(sample, len(ids)))
        cookies = []
        for member in members:
            opened = services.portal.open_link(PROGRAM_ID, services.portal.issue_link(PROGRAM_ID, member).token)
            assert not isinstance(opened, str) and hasattr(opened, "token"), opened
            cookies.append(opened.token)
        timings: dict[str, list[float]] = {page or "home": [] for page in PAGES}
        with TestClient(create_app(services), base_url="https://bench.local") as client:
            for page in PAGES:  # a warm-up: templates compiled, caches filled
                client.get(f"/portal/{PROGRAM_ID}/{page}", headers={"Cookie": f"dangol_portal={cookies[0]}"})
            for token in cookies:
                for page in PAGES:
                    started = time.perf_counter()
                    response = client.get(f"/portal/{PROGRAM_ID}/{page}",
                                          headers={"Cookie": f"dangol_portal={token}", "Accept-Language": "ko"})
                    timings[page or "home"].append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        fail(f"/portal/{PROGRAM_ID}/{page}: {response.status_code}")
        return timings
    finally:
        services.db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.portal", description=__doc__.split("\n\n")[0])
    add_db_arguments(parser)
    parser.add_argument("--members", type=int, default=None, help="members loaded (default 1,000,000)")
    parser.add_argument("--transactions", type=int, default=None, help="transactions loaded (default 2,000,000)")
    parser.add_argument("--members-timed", type=int, default=None, help="members whose pages are timed (default 200)")
    parser.add_argument("--quick", action="store_true", help="10,000 members, 50,000 transactions, 50 members timed")
    parser.add_argument("--keep", action="store_true", help="keep the loaded database for later runs")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(argv)
    members = args.members or (10_000 if args.quick else 1_000_000)
    transactions = args.transactions or (50_000 if args.quick else 2_000_000)
    sample = args.members_timed or (50 if args.quick else 200)
    if min(members, sample) < 1 or transactions < 0:
        fail("sizes must be positive")
    target = target_from_args(args, "portal")
    name = f"portal_{members}m_{transactions}t" if target.kind == "postgres" else f"{members}m-{transactions}t"
    info = machine_info(postgres_admin_url(args))
    print_machine(info)
    print(f"database: {target.describe()}\nledger:   {members:,} members, {transactions:,} earn transactions")
    sys.stdout.flush()
    loaded: dict[str, Any] = {"load_seconds": None, "reused": True}
    try:
        if not is_loaded(target, name, members, transactions):
            print("loading (raw bulk insert into the migrated schema) ...")
            sys.stdout.flush()
            loaded = load(target, name, members, transactions, args.seed) | {"reused": False}
        timings = measure(target.url(name), sample, args.seed)
    finally:
        if not args.keep:
            target.drop(name)
    print(f"\n{'page':<10} {'median ms':>10} {'p99 ms':>10}  requests")
    summary = {}
    for page, values in timings.items():
        summary[page] = {"median_ms": percentile(values, 50), "p99_ms": percentile(values, 99)}
        print(f"{page:<10} {summary[page]['median_ms']:>10.2f} {summary[page]['p99_ms']:>10.2f}  {len(values)}")
    worst = max(s["median_ms"] for s in summary.values())
    print(f"\nslowest page's median {worst:.2f} ms; target < {TARGET_MS:g} ms: {verdict(worst < TARGET_MS)}")
    save_results(f"portal-{target.kind}{'-quick' if args.quick else ''}", {
        "benchmark": "portal", "db": target.kind, "machine": info, "members": members, "transactions": transactions,
        "members_timed": sample, **loaded, "summary": summary}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
