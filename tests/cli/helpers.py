"""Running `dangol` in-process, as a user would from a shell, and `dangol serve` in a process of its own."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from typer.testing import CliRunner, Result

from dangol.cli.main import app

TOKEN = re.compile(r"dgl_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")


def dangol(url: str, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """`input`: what is typed at its prompts; `env`: environment variables it sees."""
    return CliRunner().invoke(app, ["--database-url", url, *args], input=input, env=env)


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def one_error_line(result: Result) -> str:
    """The error a failed command printed: exactly one line on stderr, no traceback."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str  # http://127.0.0.1:<port>
    log: Path  # what the server printed

    def output(self) -> str:
        return self.log.read_text()


@contextmanager
def served(database_url: str, log: Path, *options: str, processes: int = 1,
           timeout: float = 60) -> Iterator[Server]:
    """`dangol serve` on a free port, in a process of its own, once its `processes` server
    processes have started and it answers /readyz; stopped with Ctrl-C after, which must end
    it cleanly (exit status 0)."""
    port = free_port()
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "dangol.cli", "--database-url", database_url, "serve",
                                   "--port", str(port), *options], stdout=out, stderr=subprocess.STDOUT, text=True)
    running = Server(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + timeout
        while running.output().count("Application startup complete.") < processes or not _ready(running.url):
            assert server.poll() is None, f"the server stopped:\n{running.output()}"
            assert time.monotonic() < deadline, f"the server did not start:\n{running.output()}"
            time.sleep(0.1)
        yield running
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    assert server.returncode == 0, running.output()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
