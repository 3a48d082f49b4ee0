"""`dangol serve`: the API answers on the port it was given, from one process or several."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import httpx

from dangol.transparency import EMPTY_ROOT, VerifierKey, open_checkpoint

from .helpers import dangol, one_error_line, served, tokens


def test_serve_answers_with_the_key_from_init(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dangol.db'}"
    [token] = tokens(dangol(url, "init").stdout)
    with served(url, tmp_path / "serve.log") as server:
        ready = httpx.get(f"{server.url}/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        programs = httpx.get(f"{server.url}/v1/programs", headers={"Authorization": f"Bearer {token}"})
        assert programs.status_code == 200 and programs.json()["items"] == []


def test_serve_needs_an_initialised_database(tmp_path: Path) -> None:
    result = dangol(f"sqlite:///{tmp_path / 'none.db'}", "serve")
    assert result.exit_code == 2
    assert "run `dangol init` first" in one_error_line(result)


def test_serve_runs_several_workers_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    [token] = tokens(dangol(postgres_url, "init").stdout)
    with served(postgres_url, tmp_path / "serve.log", "--workers", "2", processes=2) as server:
        # Requests on new connections, which either process may accept: each answers alike.
        for _ in range(6):
            programs = httpx.get(f"{server.url}/v1/programs", headers={"Authorization": f"Bearer {token}"})
            assert programs.status_code == 200 and programs.json()["items"] == []
    assert server.output().count("Started server process") == 2


def test_several_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dangol.db'}"
    dangol(url, "init")
    result = dangol(url, "serve", "--workers", "2")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        "error: --workers needs PostgreSQL: on SQLite, serve with one process (writes go one at a time)")


def test_a_new_server_signs_the_empty_log_at_start_up(database_url: str, tmp_path: Path) -> None:
    """Within a second of starting, a server on a log with no entry signs a checkpoint of
    size 0, whose root is the empty tree's, so auditors and witnesses have a first one."""
    dangol(database_url, "init")
    with served(database_url, tmp_path / "serve.log") as server:
        deadline = time.monotonic() + 10
        while (checkpoint := httpx.get(f"{server.url}/v1/log/checkpoint")).status_code == 404:
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        key = VerifierKey.parse(httpx.get(f"{server.url}/v1/log/key").text.strip())
    assert checkpoint.status_code == 200 and checkpoint.headers["content-type"].startswith("text/plain")
    signed = open_checkpoint(checkpoint.text, key).checkpoint
    assert (signed.size, signed.root_hash) == (0, EMPTY_ROOT) == (0, hashlib.sha256(b"").digest())
