"""Benchmark: inclusion and consistency proofs served from the database's stored tree nodes.

    .venv/bin/python -m bench.log_proofs                  # SQLite, a 10,000,000-leaf tree
    .venv/bin/python -m bench.log_proofs --db postgres    # the same on PostgreSQL
    .venv/bin/python -m bench.log_proofs --quick          # 100,000 leaves, seconds

A migrated scratch database gets `--leaves` precomputed leaf hashes appended through
`MerkleTree(DbNodeStore(conn))`, the code path of the log's integrator (the log entries
themselves are not written: proofs never read them). Then `--proofs` inclusion proofs (a
random leaf at the full size) and consistency proofs (a random older size to the full
size) are generated from the stored nodes, each in its own read transaction as the API
serves them, and verified. Baseline, in the same run on the same database: one primary-key
lookup of a single stored node, the floor of any proof that reads the database.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
from collections.abc import Sequence

from dangol.storage.database import Database
from dangol.storage.log_repository import DbNodeStore
from dangol.transparency.merkle import MerkleTree
from dangol.transparency.proofs import verify_consistency, verify_inclusion

from .common import (add_db_arguments, fmt_rate, machine_info, median, migrate, percentile, postgres_admin_url,
                     print_machine, save_results, target_from_args)

TARGET_PROOF_SECONDS = 0.001  # issue 4: < 1 ms median at 10,000,000 leaves
CHUNK = 100_000  # leaves per write transaction while building


def leaf(i: int) -> bytes:
    return hashlib.sha256(b"\x00entry %d" % i).digest()


def build(db: Database, size: int, batch: int) -> float:
    """Appends `size` leaf hashes; returns the append rate in leaves/s (hashing excluded)."""
    spent = 0.0
    for lo in range(0, size, CHUNK):
        hashes = [leaf(i) for i in range(lo, min(size, lo + CHUNK))]
        start = time.perf_counter()
        with db.write() as conn:
            tree = MerkleTree(DbNodeStore(conn), lo)
            for b in range(0, len(hashes), batch):
                tree.append(hashes[b:b + batch])
        spent += time.perf_counter() - start
    return size / spent


def time_proofs(db: Database, size: int, count: int, seed: int) -> dict[str, list[float]]:
    rnd = random.Random(seed)
    times: dict[str, list[float]] = {"inclusion": [], "consistency": [], "node_lookup": []}
    with db.read() as conn:
        root = MerkleTree(DbNodeStore(conn), size).root()
    for _ in range(count):
        index, old = rnd.randrange(size), rnd.randrange(1, size)
        t0 = time.perf_counter()
        with db.read() as conn:
            proof = MerkleTree(DbNodeStore(conn), size).inclusion_proof(index, size)
        t1 = time.perf_counter()
        verify_inclusion(index, size, leaf(index), proof, root)
        t2 = time.perf_counter()
        with db.read() as conn:
            tree = MerkleTree(DbNodeStore(conn), size)
            old_root, consistency = tree.root(old), tree.consistency_proof(old, size)
        t3 = time.perf_counter()
        verify_consistency(old, size, old_root, root, consistency)
        t4 = time.perf_counter()
        with db.read() as conn:
            DbNodeStore(conn).get(0, index)
        t5 = time.perf_counter()
        times["inclusion"].append(t1 - t0)
        times["consistency"].append(t3 - t2)
        times["node_lookup"].append(t5 - t4)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.log_proofs", description=__doc__.split("\n\n")[0])
    add_db_arguments(parser)
    parser.add_argument("--leaves", type=int, default=None, help="tree size (default 10,000,000)")
    parser.add_argument("--proofs", type=int, default=None, help="proofs of each kind (default 2,000)")
    parser.add_argument("--batch", type=int, default=10_000, help="leaves per MerkleTree.append call")
    parser.add_argument("--quick", action="store_true", help="100,000 leaves, 200 proofs")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args(argv)
    size = args.leaves or (100_000 if args.quick else 10_000_000)
    count = args.proofs or (200 if args.quick else 2_000)

    target = target_from_args(args, "logproofs")
    info = machine_info(postgres_admin_url(args))
    print_machine(info)
    name = f"logproofs_{size}"
    target.drop(name)
    url = target.create(name)
    migrate(url)
    db = Database(url)
    try:
        print(f"{target.describe()}: building a tree of {size:,} leaves ...", flush=True)
        rate = build(db, size, args.batch)
        print(f"append to the database: {fmt_rate(rate)} leaves/s; database {target.size(name) / 2**20:,.0f} MiB")
        times = time_proofs(db, size, count, args.seed)
    finally:
        db.dispose()
        if not args.keep:
            target.drop(name)
    results: dict[str, object] = {"machine": info, "db": args.db, "leaves": size, "append_rate": rate}
    for kind, values in times.items():
        med, p95 = median(values), percentile(values, 95)
        results[kind] = {"median_s": med, "p95_s": p95}
        print(f"{kind:<12}: median {med * 1e6:,.0f} µs, p95 {p95 * 1e6:,.0f} µs ({count:,})")
    floor = median(times["node_lookup"])
    for kind in ("inclusion", "consistency"):
        med = median(times[kind])
        verdict = "MET" if med < TARGET_PROOF_SECONDS else "MISSED"
        print(f"{kind:<12}: {med / floor:.1f}x one node lookup; target < 1 ms median: {verdict}")
    save_results("log_proofs", results, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
