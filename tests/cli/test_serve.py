"""`dangol serve`: the API answers on the port it was given."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .helpers import dangol, one_error_line, tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_with_the_key_from_init(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dangol.db'}"
    [token] = tokens(dangol(url, "init").stdout)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "dangol.cli", "--database-url", url, "serve", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        programs = httpx.get(f"http://127.0.0.1:{port}/v1/programs", headers={"Authorization": f"Bearer {token}"})
        assert programs.status_code == 200 and programs.json()["items"] == []
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    assert server.returncode == 0


def test_serve_needs_an_initialised_database(tmp_path: Path) -> None:
    result = dangol(f"sqlite:///{tmp_path / 'none.db'}", "serve")
    assert result.exit_code == 2
    assert "run `dangol init` first" in one_error_line(result)
