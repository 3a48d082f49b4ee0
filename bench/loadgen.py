"""A small HTTP/1.1 load generator, run as its own process by bench.http.

    python -m bench.loadgen --port 8765 --kind healthz --mode open --rate 500 --duration 20
    python -m bench.loadgen --port 8765 --kind batch --batch-size 20 --members ids.json --token dgl_… --rate 100

Kinds: `healthz`, `earn` (a plain earn), `event` (a purchase through the rules), `batch`
(`--batch-size` purchases in one POST …/events:batch; the events it answers refused count as
errors).

Open loop (`--mode open`): request i is due at t0 + i/rate whatever happened to the
earlier ones, and its latency is measured from that due time, not from when it was
actually sent. A slow server therefore cannot slow the generator down and hide its own
slowness (no coordinated omission): late requests queue up and count as late. Requests
go out on keep-alive connections, a new one opened whenever all are busy.

Closed loop (`--mode closed`): `--concurrency` clients, each sending its next request as
soon as the previous answer arrives; it measures the maximum throughput.

It speaks raw HTTP/1.1 over asyncio streams (uvloop when available): a client library
would cost the generator more CPU than the server it measures, on a 2-core machine.
Prints one JSON object with counts, throughput and latency percentiles (milliseconds)."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

TIMEOUT = 30.0
# uvicorn closes a keep-alive connection after 5 s idle; reusing one it is closing fails
# the request, as it would for any client, so connections idle this long are dropped instead.
MAX_IDLE = 4.0
now = time.perf_counter  # uvloop's loop.time() is libuv's cached millisecond clock: too coarse


@dataclass
class Stats:
    refused_items: int = 0  # events a batch answered with a problem in their place
    latencies: list[float] = field(default_factory=list)  # ms, successful requests only
    send_lag: list[float] = field(default_factory=list)  # ms between due time and write, open loop
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    last_done: float = 0.0
    sample_error: str | None = None


CATEGORIES = ("design", "music", "code", "video", "writing", "photo")  # as bench.events' purchases


class Request:
    """Builds the bytes of request i: `healthz`; `earn`, a plain earn on a member's ledger;
    `event`, a purchase through the rules (POST …/events); `batch`, `--batch-size` such
    purchases in one POST …/events:batch."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.kind = args.kind
        self.host = f"{args.host}:{args.port}"
        self.members: list[str] = json.loads(open(args.members).read()) if args.members else []
        self.rnd = random.Random(args.seed)
        self.prefix = args.key_prefix
        self.program = args.program
        self.token = args.token
        self.batch_size = args.batch_size if self.kind == "batch" else 1

    def build(self, i: int) -> bytes:
        if self.kind == "healthz":
            return f"GET /healthz HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode()
        if self.kind == "event":
            return self._post(f"/v1/programs/{self.program}/events", self._purchase(f"{i}"))
        if self.kind == "batch":
            return self._post(f"/v1/programs/{self.program}/events:batch",
                              {"events": [self._purchase(f"{i}-{j}") for j in range(self.batch_size)]})
        member = self.members[self.rnd.randrange(len(self.members))]
        return self._post(f"/v1/programs/{self.program}/members/{member}/earn",
                          {"amount": {"amount": self.rnd.randrange(100, 30_000) * 10, "currency": "KRW"},
                           "order_ref": f"{self.prefix}-ord-{i}"}, f"Idempotency-Key: {self.prefix}-{i}\r\n")

    def _purchase(self, n: str) -> dict[str, Any]:
        amount = self.rnd.randrange(100, 30_000) * 10
        return {"event_id": f"{self.prefix}-{n}", "type": "purchase",
                "member_id": self.members[self.rnd.randrange(len(self.members))], "order_id": f"{self.prefix}-ord-{n}",
                "amount": {"amount": amount, "currency": "KRW"},
                "items": [{"category": c, "amount": amount} for c in self.rnd.sample(CATEGORIES, self.rnd.randrange(0, 3))]}

    def _post(self, path: str, body: Any, extra_headers: str = "") -> bytes:
        data = json.dumps(body, separators=(",", ":")).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.token}\r\n"
                f"{extra_headers}Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n")
        return head.encode() + data


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.last_used = now()

    async def roundtrip(self, payload: bytes) -> tuple[int, bool, bytes]:
        """Sends one request, reads the whole response: (status, keep the connection open, body)."""
        self.writer.write(payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = b""
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunks.append((await self.reader.readexactly(size + 2))[:-2])
                if size == 0:
                    break
            body = b"".join(chunks)
        return status, headers.get("connection", "").lower() != "close", body

    def close(self) -> None:
        self.writer.close()


class Pool:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.idle: list[Connection] = []
        self.opened = 0

    async def get(self) -> Connection:
        while self.idle:
            conn = self.idle.pop()
            if now() - conn.last_used < MAX_IDLE:
                return conn
            conn.close()
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        self.opened += 1
        return Connection(reader, writer)

    def put(self, conn: Connection, keep: bool) -> None:
        if keep:
            conn.last_used = now()
            self.idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()


async def one(pool: Pool, payload: bytes, due: float, stats: Stats) -> None:
    conn: Connection | None = None
    try:
        conn = await pool.get()
        stats.send_lag.append((now() - due) * 1000)
        status, keep, body = await asyncio.wait_for(conn.roundtrip(payload), TIMEOUT)
        done = now()
        stats.statuses[status] = stats.statuses.get(status, 0) + 1
        if 200 <= status < 300:
            stats.latencies.append((done - due) * 1000)
            if body.startswith(b'{"recorded":'):  # a batch's answer: its refused events count as errors
                refused = json.loads(body)["refused"]
                stats.refused_items += refused
                if refused and stats.sample_error is None:
                    stats.sample_error = next(r["problem"]["detail"] for r in json.loads(body)["results"]
                                              if r["status"] != 200)
        elif stats.sample_error is None:
            stats.sample_error = f"{status}: {body[:300].decode('utf-8', 'replace')}"
        stats.last_done = max(stats.last_done, done)
        pool.put(conn, keep)
    except Exception as error:  # noqa: BLE001 - every failure is counted, none stops the run
        name = type(error).__name__
        stats.failures[name] = stats.failures.get(name, 0) + 1
        stats.sample_error = stats.sample_error or repr(error)
        if conn is not None:
            conn.close()


async def open_loop(args: argparse.Namespace, request: Request) -> tuple[Stats, float, int]:
    pool = Pool(args.host, args.port)
    stats = Stats()
    total = int(args.rate * args.duration)
    payloads = [request.build(i) for i in range(total)]  # built ahead: not on the clock
    tasks = []
    t0 = now() + 0.05
    for i in range(total):
        due = t0 + i / args.rate
        delay = due - now()
        # behind schedule: still yield, so that requests already due get sent
        await asyncio.sleep(delay if delay > 0 else 0)
        tasks.append(asyncio.ensure_future(one(pool, payloads[i], due, stats)))
    await asyncio.gather(*tasks)
    pool.close()
    return stats, t0, pool.opened


async def closed_loop(args: argparse.Namespace, request: Request) -> tuple[Stats, float, int]:
    pool = Pool(args.host, args.port)
    stats = Stats()
    counter = iter(range(10**9))
    t0 = now()
    deadline = t0 + args.duration

    async def client() -> None:
        while now() < deadline:
            await one(pool, request.build(next(counter)), now(), stats)

    await asyncio.gather(*(client() for _ in range(args.concurrency)))
    pool.close()
    return stats, t0, pool.opened


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]

    return {"p50": pct(50), "p90": pct(90), "p99": pct(99), "p999": pct(99.9), "max": ordered[-1],
            "mean": sum(ordered) / len(ordered)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kind", choices=("healthz", "earn", "event", "batch"), required=True)
    parser.add_argument("--batch-size", type=int, default=20, help="batch: events per request")
    parser.add_argument("--mode", choices=("open", "closed"), default="open")
    parser.add_argument("--rate", type=float, default=500.0, help="open loop: requests per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--concurrency", type=int, default=16, help="closed loop: clients")
    parser.add_argument("--members", help="earn: a JSON file with the member ids to spread events over")
    parser.add_argument("--program", default="market")
    parser.add_argument("--token", default="")
    parser.add_argument("--key-prefix", default=f"lg{int(time.time())}", help="idempotency keys are <prefix>-<i>")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    request = Request(args)
    started = time.perf_counter()
    stats, t0, opened = asyncio.run((open_loop if args.mode == "open" else closed_loop)(args, request))
    wall = time.perf_counter() - started
    ok = len(stats.latencies)
    errors = sum(stats.failures.values()) + sum(n for s, n in stats.statuses.items() if not 200 <= s < 300)
    span = (stats.last_done - t0) if stats.last_done else math.nan
    result: dict[str, Any] = {
        "kind": args.kind, "mode": args.mode, "offered_rate": args.rate if args.mode == "open" else None,
        "concurrency": args.concurrency if args.mode == "closed" else None, "duration": args.duration,
        "sent": ok + errors, "ok": ok, "errors": errors, "statuses": stats.statuses, "failures": stats.failures,
        "sample_error": stats.sample_error, "connections_opened": opened,
        "events_per_request": request.batch_size if args.kind in ("event", "batch") else 0,
        "refused_events": stats.refused_items,
        # completions over the time from the first due request to the last answer
        "throughput": ok / span if span and span > 0 else 0.0,
        "events_throughput": (ok * request.batch_size - stats.refused_items) / span
        if span and span > 0 and args.kind in ("event", "batch") else 0.0,
        "latency_ms": percentiles(stats.latencies),
        "send_lag_ms": percentiles(stats.send_lag),
        "wall_seconds": wall,
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
