"""Benchmark: the transparency core's Merkle tree (dangol.transparency), in memory.

    .venv/bin/python -m bench.transparency            # 1,000,000 leaves x 3 runs; proofs at 10,000,000 leaves
    .venv/bin/python -m bench.transparency --quick    # smoke test, seconds

Append: `--leaves` precomputed leaf hashes appended to an empty MemoryNodeStore in batches
of `--batch` (MerkleTree.append, which stores every completed subtree); then the same with
the leaf hashing of the entries inside the timed loop, which is what pymerkle (an
independent RFC 9162 implementation, InmemoryTree('sha256')) has to do, as it takes entries
rather than hashes: pymerkle appends `--pymerkle-leaves` of the same entries in the same
run (it is much slower, so it gets fewer). Medians of `--repeat` runs.

Proofs: a tree of `--proof-size` leaves is built once (its build rate and memory are
reported), then `--proofs` inclusion proofs (random leaf, current size) and consistency
proofs (random older size to the current size) are generated and verified; medians and
95th percentiles per proof.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections.abc import Sequence

from dangol.transparency.merkle import MemoryNodeStore, MerkleTree
from dangol.transparency.proofs import leaf_hash, verify_consistency, verify_inclusion

from .common import fmt_rate, fmt_runs, machine_info, median, percentile, print_machine, save_results

TARGET_APPEND_RATE = 200_000  # leaves/s, issue 4


def entries(start: int, stop: int) -> list[bytes]:
    return [b"ledger transaction %d" % i for i in range(start, stop)]


def append_hashes(hashes: Sequence[bytes], batch: int) -> float:
    """Seconds to append precomputed leaf hashes in batches."""
    tree = MerkleTree(MemoryNodeStore())
    start = time.perf_counter()
    for lo in range(0, len(hashes), batch):
        tree.append(hashes[lo:lo + batch])
    return time.perf_counter() - start


def append_entries(data: Sequence[bytes], batch: int) -> float:
    """Seconds to hash entries into leaves and append them in batches."""
    tree = MerkleTree(MemoryNodeStore())
    start = time.perf_counter()
    for lo in range(0, len(data), batch):
        tree.append([leaf_hash(d) for d in data[lo:lo + batch]])
    return time.perf_counter() - start


def append_pymerkle(data: Sequence[bytes]) -> float:
    from pymerkle import InmemoryTree
    tree = InmemoryTree(algorithm="sha256")
    start = time.perf_counter()
    for d in data:
        tree.append_entry(d)
    return time.perf_counter() - start


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def build_large(size: int, batch: int) -> tuple[MerkleTree, float, float]:
    """A tree of `size` leaves, built in chunks so that the leaf hashes are never all
    held at once; returns it, the append rate (leaf hashing excluded) and the store size."""
    tree = MerkleTree(MemoryNodeStore())
    chunk = 100_000
    appending = 0.0
    for lo in range(0, size, chunk):
        hashes = [leaf_hash(d) for d in entries(lo, min(size, lo + chunk))]
        start = time.perf_counter()
        for b in range(0, len(hashes), batch):
            tree.append(hashes[b:b + batch])
        appending += time.perf_counter() - start
    store = tree.store
    assert isinstance(store, MemoryNodeStore)
    return tree, size / appending, store.node_count() * 32 / 2**20


def time_proofs(tree: MerkleTree, count: int, seed: int) -> dict[str, list[float]]:
    rnd = random.Random(seed)
    n = tree.size
    root = tree.root()
    times: dict[str, list[float]] = {"inclusion": [], "verify_inclusion": [], "consistency": [],
                                      "verify_consistency": [], "root_of_past_size": []}
    for _ in range(count):
        index = rnd.randrange(n)
        t0 = time.perf_counter()
        proof = tree.inclusion_proof(index)
        t1 = time.perf_counter()
        verify_inclusion(index, n, tree.leaf_hash(index), proof, root)
        t2 = time.perf_counter()
        times["inclusion"].append(t1 - t0)
        times["verify_inclusion"].append(t2 - t1)

        old = rnd.randrange(1, n)
        t0 = time.perf_counter()
        old_root = tree.root(old)
        t1 = time.perf_counter()
        proof = tree.consistency_proof(old)
        t2 = time.perf_counter()
        verify_consistency(old, n, old_root, root, proof)
        t3 = time.perf_counter()
        times["root_of_past_size"].append(t1 - t0)
        times["consistency"].append(t2 - t1)
        times["verify_consistency"].append(t3 - t2)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.transparency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--leaves", type=int, default=None, help="leaves appended per run (default 1,000,000)")
    parser.add_argument("--batch", type=int, default=1_000, help="leaves per MerkleTree.append call")
    parser.add_argument("--pymerkle-leaves", type=int, default=None, help="leaves appended by pymerkle (default 20,000)")
    parser.add_argument("--proof-size", type=int, default=None, help="tree size for proofs (default 10,000,000)")
    parser.add_argument("--proofs", type=int, default=None, help="proofs of each kind timed (default 2,000)")
    parser.add_argument("--repeat", type=int, default=None, help="append runs; medians are quoted (default 3)")
    parser.add_argument("--quick", action="store_true", help="100,000 leaves, proofs at 1,000,000, 1 run")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--json", default=None, help="also write the results as JSON to this path")
    args = parser.parse_args(argv)
    leaves = args.leaves or (100_000 if args.quick else 1_000_000)
    theirs = args.pymerkle_leaves or (5_000 if args.quick else 20_000)
    proof_size = args.proof_size or (1_000_000 if args.quick else 10_000_000)
    proofs = args.proofs or (200 if args.quick else 2_000)
    repeat = args.repeat or (1 if args.quick else 3)

    info = machine_info()
    print_machine(info)
    print(f"append: {leaves:,} leaves in batches of {args.batch:,}, pymerkle {theirs:,} leaves, {repeat} runs")
    data = entries(0, leaves)
    hashes = [leaf_hash(d) for d in data]

    ours_hash_rates: list[float] = []
    ours_entry_rates: list[float] = []
    theirs_rates: list[float] = []
    print(f"\n{'run':>3}  {'hashes/s':>12} {'entries/s':>12} {'pymerkle/s':>12}")
    for run in range(repeat):
        ours_hash_rates.append(leaves / append_hashes(hashes, args.batch))
        ours_entry_rates.append(leaves / append_entries(data, args.batch))
        theirs_rates.append(theirs / append_pymerkle(data[:theirs]))
        print(f"{run + 1:>3}  {ours_hash_rates[-1]:>12,.0f} {ours_entry_rates[-1]:>12,.0f} {theirs_rates[-1]:>12,.0f}")
    rate, entry_rate, their_rate = median(ours_hash_rates), median(ours_entry_rates), median(theirs_rates)
    print()
    print(f"dangol, leaf hashes : {fmt_rate(rate)} leaves/s (median; runs {fmt_runs(ours_hash_rates)})")
    print(f"dangol, entries     : {fmt_rate(entry_rate)} leaves/s (median; runs {fmt_runs(ours_entry_rates)})")
    print(f"pymerkle, entries   : {fmt_rate(their_rate)} leaves/s (median; runs {fmt_runs(theirs_rates)})")
    print(f"ratio               : {entry_rate / their_rate:.1f}x pymerkle (entries both); "
          f"{rate / their_rate:.1f}x with precomputed leaf hashes")
    verdict = "MET" if rate >= TARGET_APPEND_RATE else "MISSED"
    print(f"target              : >= {TARGET_APPEND_RATE:,} leaves/s: {verdict}")
    del data, hashes

    rss_before = max_rss_mb()
    print(f"\nproofs: building a tree of {proof_size:,} leaves ...", flush=True)
    tree, build_rate, store_mb = build_large(proof_size, args.batch)
    rss_after = max_rss_mb()
    print(f"built at {build_rate:,.0f} leaves/s; store {store_mb:,.0f} MiB of node hashes "
          f"({tree.store.node_count():,} nodes); peak RSS {rss_after:,.0f} MB (was {rss_before:,.0f} MB)")
    times = time_proofs(tree, proofs, args.seed)
    print(f"\n{proofs:,} of each at size {proof_size:,}     median µs    p95 µs")
    summary: dict[str, dict[str, float]] = {}
    for name, values in times.items():
        us = [v * 1e6 for v in values]
        summary[name] = {"median_us": median(us), "p95_us": percentile(us, 95)}
        print(f"  {name:<22} {median(us):>12,.1f} {percentile(us, 95):>9,.1f}")
    save_results(f"transparency{'-quick' if args.quick else ''}", {
        "machine": info,
        "append": {"leaves": leaves, "batch": args.batch, "pymerkle_leaves": theirs, "repeat": repeat,
                   "hashes_per_s": ours_hash_rates, "entries_per_s": ours_entry_rates,
                   "pymerkle_per_s": theirs_rates, "median_hashes_per_s": rate,
                   "median_entries_per_s": entry_rate, "median_pymerkle_per_s": their_rate},
        "proofs": {"size": proof_size, "count": proofs, "build_per_s": build_rate, "store_mib": store_mb,
                   "peak_rss_mb": rss_after, **summary},
    }, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
