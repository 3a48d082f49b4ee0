"""Benchmark 3: writes over HTTP, one earn or one business event a request, and events in batches.

    .venv/bin/python -m bench.http --db sqlite      # 500 requests/s for 20 s, 3 runs, plus closed-loop maxima
    .venv/bin/python -m bench.http --db postgres
    .venv/bin/python -m bench.http --quick          # smoke test, seconds

(Run it as a module, `-m bench.http`: as a script its name would shadow the standard
library's `http` package.)

Preparation: a database made by dangol's migrations with the example program and its
ruleset (src/dangol/rules/examples/market.yaml) in force, `--members` members enrolled with a
first earn each, and a read+write API key for the program. The server is
`uvicorn --factory dangol.api.app:app_from_env` (`--workers`, default 1) on 127.0.0.1, in its
own process; the load comes from bench.loadgen, another process.

Scenarios (`--kinds`), each run by a new load generator process, with unique keys and ids:
- `earn`: POST /v1/programs/market/members/{id}/earn, a plain earn on a random member's ledger;
- `event`: POST /v1/programs/market/events, a purchase judged by the example's rules (random
  member, 1,000-300,000 KRW, 0-2 item categories, its own order);
- `batch`: POST /v1/programs/market/events:batch, `--batch-size` such purchases a request;
- `healthz`: GET /healthz, the baseline: what the server costs without any work.
Open loop (latency measured from each request's due time, so no coordinated omission):
earn, event and healthz at `--rate` requests/s; the batch endpoint at `--event-rate` events/s
(`--event-rate / --batch-size` requests/s), with healthz at that request rate too. Closed
loop with `--concurrency` clients for `--closed-duration` s: the maximum throughput of each,
and so the batch endpoint's events/s against single events', in the same run.
Open-loop scenarios alternate their order run by run; `--repeat` runs, medians quoted.
At the end the ledger must hold exactly one transaction per successful earn response, and the
events table one row per event answered successfully."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .common import (
    PROGRAM_ID, WORKDIR, add_db_arguments, analyze, create_example_program, fail, machine_info, median, migrate,
    percentile, postgres_admin_url, print_machine, save_results, target_from_args, verdict,
)

ROOT = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 25.0
TARGET_RATE = 500
TARGET_EVENT_RATE = 2_000  # events/s sustained, on at least one engine
TARGET_EVENT_P99_MS = 50.0
TARGET_BATCH_RATIO = 10.0  # the batch endpoint's events/s against single events'


# ---------------------------------------------------------------- preparation

def prepare(target: Any, members: int, seed: int) -> tuple[str, str, list[str]]:
    """The database, the member ids, and a read+write API key token."""
    import random
    from datetime import datetime, timezone
    from importlib import resources

    from dangol.domain import Money
    from dangol.domain import commands as cmd
    from dangol.domain.errors import DomainError
    from dangol.service.container import Services
    from dangol.service.ledger import Operation
    from dangol.service.programs import Scope

    url = target.create("http")
    migrate(url)
    create_example_program(url)
    rnd = random.Random(seed)
    ids = [f"m_{rnd.getrandbits(80):020x}" for _ in range(members)]
    services = Services.open(url, migrate=False)
    try:
        # In force from now (the server judges events at their arrival), in the members' zone.
        services.rulesets.set_policy(PROGRAM_ID, 30, "Asia/Seoul")
        services.rulesets.publish(PROGRAM_ID, (resources.files("dangol.rules") / "examples" / "market.yaml")
                                  .read_text(encoding="utf-8"), effective_from=datetime.now(timezone.utc))
        for lo in range(0, members, 1_000):
            chunk = range(lo, min(members, lo + 1_000))
            ops = [Operation(cmd.Enroll(f"cust-{i}", member_id=ids[i]), f"enr-{i}") for i in chunk]
            ops += [Operation(cmd.Earn(ids[i], money=Money(rnd.randrange(100, 30_000) * 10, "KRW"),
                                       order_ref=f"first-{i}"), f"first-{i}") for i in chunk]
            for outcome in services.ledger.execute(PROGRAM_ID, ops):
                if isinstance(outcome, DomainError):
                    fail(f"preparation failed: {outcome.code}: {outcome.detail}")
        _, token = services.programs.create_api_key(PROGRAM_ID, {Scope.READ, Scope.WRITE}, "bench")
    finally:
        services.db.dispose()
    analyze(target, "http")
    return url, token, ids


def in_process(url: str, token: str, ids: list[str], n: int) -> dict[str, dict[str, float]]:
    """The same work without HTTP, one call at a time in this process: what a request costs
    the ledger service (an earn) and the events service (a purchase through the rules), and
    what authenticating its key costs."""
    import random

    from dangol.domain import Money
    from dangol.domain import commands as cmd
    from dangol.service.container import Services
    from dangol.service.events import EventInput

    rnd = random.Random(7)
    services = Services.open(url, migrate=False)
    timings: dict[str, list[float]] = {"LedgerService.run(Earn)": [], "EventService.record(purchase)": [],
                                       "ProgramService.authenticate": []}
    try:
        for i in range(n):
            command = cmd.Earn(ids[rnd.randrange(len(ids))], money=Money(rnd.randrange(100, 30_000) * 10, "KRW"),
                               order_ref=f"inproc-{i}")
            began = time.perf_counter()
            services.ledger.run(PROGRAM_ID, command, f"inproc-{i}")
            timings["LedgerService.run(Earn)"].append((time.perf_counter() - began) * 1000)
            event = EventInput(f"inproc-{i}", "purchase", ids[rnd.randrange(len(ids))],
                               amount=Money(rnd.randrange(100, 30_000) * 10, "KRW"), order_id=f"inproc-ord-{i}")
            began = time.perf_counter()
            services.events.record(PROGRAM_ID, event)
            timings["EventService.record(purchase)"].append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            services.programs.authenticate(token)
            timings["ProgramService.authenticate"].append((time.perf_counter() - began) * 1000)
    finally:
        services.db.dispose()
    return {name: {"p50": percentile(v, 50), "p99": percentile(v, 99)} for name, v in timings.items()}


def profile_requests(url: str, token: str, ids: list[str], n: int) -> str:
    """cProfile of `n` earn requests through the ASGI app in this process, driven by raw ASGI
    calls (no client library, no sockets: what is measured is the server's own work), with
    the writes run inline instead of on the writer thread and FastAPI's thread pool replaced
    by inline calls, so that the profiler sees the routes, the dependencies and the ledger in
    one thread. It shows where a request's CPU goes; its timings are not the real server's."""
    import asyncio
    import cProfile
    import io
    import pstats
    import random

    import anyio.to_thread

    from dangol.api.app import create_app
    from dangol.service.container import Services

    async def inline(func: Any, *args: Any, **_: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = inline  # type: ignore[assignment]  # this process only
    services = Services.open(url, migrate=False)
    app = create_app(services)
    inline_writes(app)
    rnd = random.Random(11)

    async def drive(count: int, tag: str) -> float:
        began = time.perf_counter()
        for i in range(count):
            member = ids[rnd.randrange(len(ids))]
            body = json.dumps({"amount": {"amount": rnd.randrange(100, 30_000) * 10, "currency": "KRW"},
                               "order_ref": f"{tag}-{i}"}).encode()
            status = await asgi_post(app, f"/v1/programs/{PROGRAM_ID}/members/{member}/earn", body,
                                     {"authorization": f"Bearer {token}", "idempotency-key": f"{tag}-{i}"})
            if status != 200:
                fail(f"earn answered {status}")
        return time.perf_counter() - began

    asyncio.run(drive(200, "prof-warm"))
    profiler = cProfile.Profile()
    profiler.enable()
    elapsed = asyncio.run(drive(n, "prof"))
    profiler.disable()
    services.db.dispose()
    dump = WORKDIR / "http-profile.prof"
    profiler.dump_stats(dump)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(45)
    out.write("\n---- top 25 by own time (tottime) ----\n")
    stats.sort_stats("tottime").print_stats(25)
    return (f"{n} earn requests in process under cProfile: {elapsed * 1000 / n:.2f} ms each "
            f"(profiling overhead included)\n" + out.getvalue() + f"profile data: {dump} (python -m pstats {dump})")


def inline_writes(app: Any) -> None:
    """The app's writes run in the calling thread (for profiling and timing in process)."""
    from concurrent.futures import Executor, Future

    from dangol.api.group_commit import GroupCommit

    class Inline(Executor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            future: Future[Any] = Future()
            future.set_result(fn(*args, **kwargs))
            return future

    lane = app.state.write_lane
    lane.__dict__["_writer"] = Inline() if lane.services.db.is_sqlite else None
    lane.__dict__["_groups"] = GroupCommit(lane.services, Inline())


async def asgi_post(app: Any, path: str, body: bytes, headers: dict[str, str]) -> int:
    """One POST straight into the ASGI app; its status."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000),
             "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]
             + [(k.encode(), v.encode()) for k, v in headers.items()]}
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


# What each kind of request writes once: an earn request, a transaction for its order
# `<prefix>-earn-ord-<i>` (events write transactions too, for other orders); an event, its row.
WRITTEN = {"earn": "SELECT COUNT(*) FROM transactions WHERE order_ref LIKE '%-earn-ord-%'",
           "events": "SELECT COUNT(*) FROM events"}


def count_written(target: Any) -> dict[str, int]:
    conn = target.raw("http")
    try:
        return {what: int(conn.execute(query).fetchone()[0]) for what, query in WRITTEN.items()}
    finally:
        conn.close()


# ---------------------------------------------------------------- the server

class Server:
    def __init__(self, url: str, workers: int, log: Path, kind: str = "uvicorn") -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.log = log
        if kind == "dangol-serve":  # the product's own command: one worker, access log on
            self.command = [sys.executable, "-m", "dangol.cli", "serve", "--host", "127.0.0.1",
                            "--port", str(self.port)]
        else:
            self.command = [sys.executable, "-m", "uvicorn", "--factory", "dangol.api.app:app_from_env",
                            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
                            "--log-level", "warning", "--no-access-log"]
        env = os.environ | {"DANGOL_DATABASE_URL": url}
        self.proc = subprocess.Popen(self.command, env=env, cwd=ROOT, stdout=log.open("w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail(f"the server exited with {self.proc.returncode}; see {log}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        fail(f"the server did not answer /healthz within 60 s; see {log}")

    def cpu_seconds(self) -> float:
        """User+system CPU of the server process and its children (uvicorn workers)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        pids = {self.proc.pid}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:  # ppid
                pids.add(int(stat.parent.name))
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def settle(self, limit: float = 120.0) -> None:
        """Waits until the server answers /healthz promptly again: an overloaded run leaves a
        queue behind, which must not be charged to the next scenario."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            began = time.monotonic()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5):
                    pass
            except OSError:
                pass
            if time.monotonic() - began < 0.02:
                time.sleep(0.5)
                return
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group we started: uvicorn and its workers
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def load(server: Server, kind: str, mode: str, seconds: float, *, rate: float = 0, concurrency: int = 0,
         token: str = "", members_file: str = "", prefix: str = "", batch_size: int = 1) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.loadgen", "--port", str(server.port), "--kind", kind, "--mode", mode,
               "--duration", str(seconds), "--rate", str(rate), "--concurrency", str(concurrency),
               "--program", PROGRAM_ID, "--token", token, "--key-prefix", f"{prefix}-{kind}",
               "--batch-size", str(batch_size)]
    if members_file:
        command += ["--members", members_file]
    server.settle()
    cpu_before = server.cpu_seconds()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 180)
    cpu = server.cpu_seconds() - cpu_before
    if done.returncode != 0:
        fail(f"the load generator failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    result["server_cpu_ms_per_request"] = cpu * 1000 / max(1, result["sent"])
    result["server_cpu_share"] = cpu / max(1e-9, result["wall_seconds"])
    return result


# ---------------------------------------------------------------- main

KINDS = ("healthz", "earn", "event", "batch")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__.split("\n\n")[0])
    add_db_arguments(parser)
    parser.add_argument("--rate", type=float, default=None, help="open loop requests/s of earn, event and "
                                                                 "healthz (default 500)")
    parser.add_argument("--event-rate", type=float, default=None,
                        help="open loop events/s offered to the batch endpoint (default 2,000)")
    parser.add_argument("--batch-size", type=int, default=20, help="events per batch request (default 20)")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"the scenarios, of {','.join(KINDS)} (default all)")
    parser.add_argument("--duration", type=float, default=None, help="open loop seconds (default 20)")
    parser.add_argument("--also-rates", default="",
                        help="comma-separated extra open-loop rates for earn only, e.g. 100,200 (latency below capacity)")
    parser.add_argument("--concurrency", type=int, default=16, help="closed loop clients (default 16)")
    parser.add_argument("--closed-duration", type=float, default=None, help="closed loop seconds (default 10)")
    parser.add_argument("--repeat", type=int, default=None, help="runs of every scenario (default 3)")
    parser.add_argument("--members", type=int, default=None, help="members prepared (default 10,000)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (default 1)")
    parser.add_argument("--server", choices=("uvicorn", "dangol-serve"), default="uvicorn",
                        help="uvicorn --factory dangol.api.app:app_from_env without access log (default), "
                             "or the product's `dangol serve` (one worker, access log on)")
    parser.add_argument("--quick", action="store_true", help="100 requests/s (events: 200/s) for 3 s, 1 run")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--profile-server", type=int, default=0, metavar="N",
                        help="instead of the benchmark: cProfile N earn requests through the app in process")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    rate = args.rate or (100 if args.quick else TARGET_RATE)
    event_rate = args.event_rate or (200 if args.quick else TARGET_EVENT_RATE)
    batch = args.batch_size
    batch_rate = event_rate / batch
    duration = args.duration or (3 if args.quick else 20)
    closed = args.closed_duration or (3 if args.quick else 10)
    repeat = args.repeat or (1 if args.quick else 3)
    members = args.members or (1_000 if args.quick else 10_000)
    also_rates = [float(r) for r in args.also_rates.split(",") if r.strip()]
    kinds = [k for k in KINDS if k in args.kinds.split(",")]

    target = target_from_args(args, "http")
    info = machine_info(postgres_admin_url(args))
    import uvicorn
    info["uvicorn"] = uvicorn.__version__
    print_machine(info)
    print(f"database: {target.describe()}")
    url, token, ids = prepare(target, members, args.seed)
    if args.profile_server:
        try:
            print(profile_requests(url, token, ids, args.profile_server))
        finally:
            if not args.keep:
                target.drop("http")
        return 0
    direct = in_process(url, token, ids, 200 if args.quick else 1_000)
    for name, t in direct.items():
        print(f"in-process, no HTTP: {name:<30} p50 {t['p50']:.2f} ms  p99 {t['p99']:.2f} ms")
    before = count_written(target)
    members_file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, dir=WORKDIR)
    json.dump(ids, members_file)
    members_file.close()
    log = WORKDIR / "logs" / f"http-server-{target.kind}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    server = Server(url, args.workers, log, args.server)
    print(f"server:   {' '.join(server.command[1:])}\n          uvicorn {uvicorn.__version__}, "
          f"{1 if args.server == 'dangol-serve' else args.workers} worker(s), 127.0.0.1:{server.port} (log {log})")
    print(f"prepared: {members:,} members with a first earn each, the example ruleset in force, a read+write key")
    print(f"load:     open loop {rate:g} requests/s x {duration:g} s"
          f"{(' (earn also at ' + ', '.join(f'{r:g}' for r in also_rates) + '/s)') if also_rates else ''}"
          f"{f', the batch endpoint {event_rate:g} events/s ({batch_rate:g} requests of {batch})' if 'batch' in kinds else ''}"
          f", closed loop {args.concurrency} clients x {closed:g} s, {repeat} run(s); "
          f"generator: bench.loadgen in its own process")
    sys.stdout.flush()
    # (kind, rate): each open-loop scenario; healthz at every request rate used, as the baseline.
    opened = [(k, rate) for k in kinds if k != "batch"]
    if "batch" in kinds:
        opened += [("healthz", batch_rate)] if "healthz" in kinds and batch_rate != rate else []
        opened += [("batch", batch_rate)]
    results: list[dict[str, Any]] = []
    tally = {"earn": [0, 0], "events": [0, 0]}  # [answered ok, sent]

    def measure(kind: str, mode: str, seconds: float, prefix: str, run: int | None, **options: Any) -> None:
        r = load(server, kind, mode, seconds, token=token, members_file=members_file.name, prefix=prefix,
                 batch_size=batch if kind == "batch" else 1, **options)
        if kind == "earn":
            tally["earn"][0] += r["ok"]
            tally["earn"][1] += r["sent"]
        elif kind in ("event", "batch"):
            per = r["events_per_request"]
            tally["events"][0] += r["ok"] * per - r["refused_events"]
            tally["events"][1] += r["sent"] * per
        if run is not None:
            results.append(r | {"run": run})
            _row(r, run)

    try:
        # warm-up, not reported: first requests compile SQL, fill caches, open pools
        for kind in kinds:
            measure(kind, "closed", 2, f"warm-{kind}", None, concurrency=4)
        for run in range(repeat):
            for kind, offered in (opened if run % 2 == 0 else opened[::-1]):
                measure(kind, "open", duration, f"open{run}-{offered:g}", run + 1, rate=offered)
            for extra in also_rates if "earn" in kinds else ():
                measure("earn", "open", duration, f"open{run}-{extra:g}", run + 1, rate=extra)
            for kind in kinds:
                measure(kind, "closed", closed, f"closed{run}", run + 1, concurrency=args.concurrency)
    finally:
        server.stop()
        os.unlink(members_file.name)
    after = count_written(target)
    written = {what: after[what] - before[what] for what in before}
    if not args.keep:
        target.drop("http")
    # A request whose answer was lost (timeout, reset) may or may not have been applied.
    consistent = True
    for what, rows in (("earn", "earn transactions"), ("events", "event rows")):
        answered, sent = tally[what]
        if not sent:
            continue
        fine = answered <= written[what] <= sent
        consistent = consistent and fine
        print(f"\nverified: {written[what]:,} {rows} written for {answered:,} {what} answered successfully "
              f"({sent - answered:,} failed or lost their answer){'' if fine else '  <-- INCONSISTENT'}", end="")
    print()

    summary = _summary(results)
    print(f"\nmedians over {repeat} run(s):")
    print(f"{'scenario':<46} {'requests/s':>10} {'events/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} "
          f"{'errors*':>7} {'srv CPU ms/req':>14}")
    for name, s in summary.items():
        events = f"{s['events']:>9,.0f}" if s["events"] else f"{'':>9}"
        print(f"{name:<46} {s['throughput']:>10,.0f} {events} {s['p50']:>8.2f} {s['p99']:>8.2f} {s['p999']:>9.2f} "
              f"{s['errors']:>7.0f} {s['cpu_ms']:>14.2f}")
    print("* errors: total over all runs (for the batch endpoint, events refused in their place too)")
    targets = _targets(summary, rate, event_rate, batch, args.concurrency)
    for line in targets:
        print(line)
    save_results(f"http-{target.kind}{'-quick' if args.quick else ''}", {
        "benchmark": "http", "db": target.kind, "machine": info, "workers": args.workers, "server": server.command,
        "rate": rate, "event_rate": event_rate, "batch_size": batch, "kinds": kinds,
        "duration": duration, "closed_duration": closed, "concurrency": args.concurrency, "repeat": repeat,
        "members": members, "also_rates": also_rates, "in_process": direct, "runs": results, "summary": summary,
        "rows_written": written, "answered": tally, "targets": targets,
    }, args.json)
    return 0 if consistent else 1


def _targets(summary: dict[str, dict[str, float]], rate: float, event_rate: float, batch: int,
             concurrency: int) -> list[str]:
    """The verdicts on the targets the run measured."""
    lines = []
    for what in ("POST earn", "POST event"):
        s = summary.get(f"open {rate:g}/s {what}")
        if s is None:
            continue
        ok = s["p99"] < TARGET_P99_MS and s["throughput"] >= 0.98 * rate and s["errors"] == 0
        outcome = verdict(ok) if rate >= TARGET_RATE else f"NOT TESTED (offered {rate:g}/s < {TARGET_RATE}/s)"
        lines.append(f"target: {what}, p99 < {TARGET_P99_MS:g} ms at {TARGET_RATE} requests/s: {outcome} "
                     f"(p99 {s['p99']:.1f} ms at {rate:g}/s offered, {s['throughput']:,.0f}/s achieved, "
                     f"{s['errors']:.0f} errors)")
    s = summary.get(f"open {event_rate / batch:g}/s POST events:batch of {batch}")
    if s is not None:
        ok = s["events"] >= 0.98 * TARGET_EVENT_RATE and s["p99"] < TARGET_EVENT_P99_MS and s["errors"] == 0
        outcome = verdict(ok) if event_rate >= TARGET_EVENT_RATE else \
            f"NOT TESTED (offered {event_rate:g} events/s < {TARGET_EVENT_RATE:,})"
        lines.append(f"target: >= {TARGET_EVENT_RATE:,} events/s sustained with p99 < {TARGET_EVENT_P99_MS:g} ms: "
                     f"{outcome} ({s['events']:,.0f} events/s at {event_rate:g} offered in batches of {batch}, "
                     f"p99 {s['p99']:.1f} ms, {s['errors']:.0f} errors)")
    single = summary.get(f"closed {concurrency} clients POST event")
    many = summary.get(f"closed {concurrency} clients POST events:batch of {batch}")
    if single and many and single["events"]:
        ratio = many["events"] / single["events"]
        lines.append(f"target: the batch endpoint >= {TARGET_BATCH_RATIO:g}x the single-request rate (closed loop, "
                     f"same run): {verdict(ratio >= TARGET_BATCH_RATIO)} ({many['events']:,.0f} against "
                     f"{single['events']:,.0f} events/s: {ratio:.1f}x)")
    return lines


def _name(r: dict[str, Any]) -> str:
    what = {"healthz": "GET /healthz", "earn": "POST earn", "event": "POST event"}.get(r["kind"])
    what = what or f"POST events:batch of {r['events_per_request']}"
    if r["mode"] == "open":
        return f"open {r['offered_rate']:g}/s {what}"
    return f"closed {r['concurrency']} clients {what}"


def _row(r: dict[str, Any], run: int) -> None:
    lat = r["latency_ms"] or {"p50": float("nan"), "p99": float("nan"), "p999": float("nan")}
    events = f" ({r['events_throughput']:,.0f} events/s)" if r["kind"] == "batch" else ""
    print(f"  run {run}  {_name(r):<46} {r['throughput']:>8,.0f}/s{events}  p50 {lat['p50']:7.2f}  "
          f"p99 {lat['p99']:7.2f}  p99.9 {lat['p999']:7.2f} ms  errors {r['errors'] + r['refused_events']}  "
          f"server CPU {r['server_cpu_ms_per_request']:.2f} ms/req"
          + (f"  send lag p99 {r['send_lag_ms']['p99']:.2f} ms" if r["mode"] == "open" and r["send_lag_ms"] else "")
          + (f"  [{r['sample_error']}]" if r["sample_error"] else ""))
    sys.stdout.flush()


def _summary(results: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault(_name(r), []).append(r)
    out = {}
    for name, rs in groups.items():
        def med(key: str) -> float:
            return median([r["latency_ms"].get(key, float("nan")) if r["latency_ms"] else float("nan") for r in rs])
        out[name] = {"throughput": median([r["throughput"] for r in rs]),
                     "events": median([r["events_throughput"] for r in rs]),
                     "p50": med("p50"), "p99": med("p99"), "p999": med("p999"), "max": med("max"),
                     "errors": sum(r["errors"] + r["refused_events"] for r in rs),
                     "cpu_ms": median([r["server_cpu_ms_per_request"] for r in rs])}
    return out


if __name__ == "__main__":
    raise SystemExit(main())
