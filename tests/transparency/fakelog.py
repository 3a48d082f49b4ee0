"""A log server that says whatever a test makes it say: the public log API (docs/
transparency.md) over real HTTP, served from a SignedLog that the test can grow, rewrite
or roll back. The real server is tested end to end elsewhere; this one plays the
dishonest operator, which the real one cannot."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dangol.transparency import note

from .logs import SignedLog


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class FakeLog:
    def __init__(self, log: SignedLog, size: int | None = None) -> None:
        self.log = log
        self.size = len(log.records) if size is None else size
        self.signed: dict[int, bytes] = {}
        self.cosigned: list[bytes] = []  # what witnesses posted
        self.entries: SignedLog | None = None  # entries served from elsewhere than the tree (a tampered table)
        self.url = ""

    def latest(self) -> bytes:
        return self.signed.setdefault(self.size, self.log.signed(self.size))

    def answer(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        if method == "POST" and path == "/v1/log/cosignatures":
            self.cosigned.append(body)
            self.signed[self.size] = body
            return 200, "application/json", b"{}"
        if path == "/v1/log/checkpoint":
            return 200, "text/plain; charset=utf-8", self.latest()
        if path.startswith("/v1/log/checkpoints/"):
            size = int(path.rsplit("/", 1)[1])
            if size not in self.signed:
                return 404, "application/problem+json", b'{"title":"no such checkpoint"}'
            return 200, "text/plain; charset=utf-8", self.signed[size]
        if path == "/v1/log/key":
            return 200, "text/plain; charset=utf-8", self.log.key.vkey().encode()
        if path == "/v1/log/proof/consistency":
            m, n = int(query["from"]), int(query["to"])
            value = {"from": m, "to": n, "hashes": [b64(h) for h in self.log.tree(n).consistency_proof(m, n)]}
            return 200, "application/json", json.dumps(value).encode()
        if path == "/v1/log/proof/inclusion":
            size = int(query["size"])
            if "index" in query:
                i = int(query["index"])
            else:
                i = next(r.index for r in self.log.records if r.sequence == int(query["sequence"]))
            r = self.log.records[i]
            value = {"index": i, "sequence": r.sequence, "size": size, "leaf_hash": b64(r.leaf_hash),
                     "hashes": [b64(h) for h in self.log.tree(size).inclusion_proof(i, size)]}
            return 200, "application/json", json.dumps(value).encode()
        if path == "/v1/log/entries":
            start, limit = int(query["start"]), min(int(query["limit"]), 1000)
            page = (self.entries or self.log).records[start:min(start + limit, self.size)]
            value = {"entries": [{"index": r.index, "sequence": r.sequence, "leaf_hash": b64(r.leaf_hash),
                                  "entry": b64(r.entry)} for r in page]}
            return 200, "application/json", json.dumps(value).encode()
        return 404, "application/problem+json", b'{"title":"not found"}'

    def cosignatures_by(self, name: str) -> int:
        return sum(1 for body in self.cosigned for s in note.parse(body).signatures if s.name == name)


@contextmanager
def serving(fake: FakeLog) -> Iterator[FakeLog]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, kind, data = fake.answer(method, url.path, query, body)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._reply("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._reply("POST")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
