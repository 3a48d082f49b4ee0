"""`dangol serve`: the API answers on the port it was given, from one process or several."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import httpx
import pytest

from dangol.cli.context import CliError
from dangol.cli.serve import connections_warning
from dangol.storage.connection_limits import ConnectionLimits, connection_limits
from dangol.storage.database import Database
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


def test_workers_whose_pools_exceed_what_postgresql_accepts_are_refused(postgres_url: str) -> None:
    dangol(postgres_url, "init")
    db = Database(postgres_url)
    try:
        limits = connection_limits(db)
    finally:
        db.dispose()
    assert limits is not None and limits.usable == limits.max_connections - limits.reserved > 0
    pool = limits.usable // 4 + 1  # four of them are one too many
    result = dangol(postgres_url, "serve", "--workers", "4", "--pool-size", str(pool))
    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"error: 4 server processes × {pool} connections = {4 * pool}, more than the {limits.usable} this "
        f"PostgreSQL server accepts (max_connections {limits.max_connections}, {limits.reserved} reserved): "
        f"use fewer --workers, a smaller --pool-size, or raise max_connections")


def test_pools_are_checked_against_what_the_server_accepts_and_what_is_free_now() -> None:
    limits = ConnectionLimits(max_connections=100, reserved=3, in_use=50)
    assert connections_warning(4, 10, limits) is None  # 40 of the 47 free
    assert connections_warning(4, 12, limits) == (
        "4 server processes × 12 connections = 48, and other clients hold 50 of the 97 this PostgreSQL server "
        "accepts: under load, requests may be answered 503 until they close some")
    assert connections_warning(1, 97, limits) is not None
    with pytest.raises(CliError, match=r"^1 server process × 98 connections = 98, more than the 97 "):
        connections_warning(1, 98, limits)


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
