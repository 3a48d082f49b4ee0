"""API key lookups are remembered for a few seconds, never past a revocation made in the
same process, and at most `auth_cache_seconds` past one made elsewhere; a revocation
answers the same however often, and however many at once, it is made."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection

from dangol.service.container import Services
from dangol.service.programs import IssuedKey, ProgramService, Scope


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def programs(services: Services, ticker: Ticker) -> ProgramService:
    return ProgramService(services.db, services.clock, auth_cache_seconds=2.0, monotonic=ticker)


def test_a_key_is_checked_from_memory_once_looked_up(programs: ProgramService, program_id: str) -> None:
    key, token = programs.create_api_key(program_id, {Scope.WRITE}, "till")
    assert programs.cached_key(token) is None  # never looked up: memory cannot say
    assert programs.authenticate(token) == key
    assert programs.cached_key(token) == key


def test_a_wrong_secret_for_a_remembered_key_is_refused(programs: ProgramService, program_id: str) -> None:
    _, token = programs.create_api_key(program_id, {Scope.WRITE}, "till")
    programs.authenticate(token)
    forged = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
    assert programs.authenticate(forged) is None
    assert programs.cached_key(forged) is None


def test_a_revocation_in_this_process_takes_effect_at_once(programs: ProgramService, program_id: str) -> None:
    key, token = programs.create_api_key(program_id, {Scope.READ}, "till")
    assert programs.authenticate(token) == key
    programs.revoke_api_key(key.id)
    assert programs.cached_key(token) is None
    assert programs.authenticate(token) is None


def test_a_revocation_elsewhere_takes_effect_within_the_cache_time(
        services: Services, programs: ProgramService, ticker: Ticker, program_id: str) -> None:
    elsewhere = ProgramService(services.db, services.clock)  # another server worker, say
    key, token = programs.create_api_key(program_id, {Scope.READ}, "till")
    assert programs.authenticate(token) == key
    elsewhere.revoke_api_key(key.id)
    ticker.now += 1.9
    assert programs.authenticate(token) == key  # the documented window
    ticker.now += 0.2
    assert programs.cached_key(token) is None
    assert programs.authenticate(token) is None


def test_a_lookup_racing_a_revocation_is_not_remembered(programs: ProgramService, program_id: str) -> None:
    key, token = programs.create_api_key(program_id, {Scope.READ}, "till")
    real_read = programs.db.read

    @contextmanager
    def read_then_revoked() -> Iterator[Connection]:
        # The key is read as valid, then revoked before the lookup can remember it.
        with real_read() as conn:
            yield conn
        programs.db.read = real_read  # type: ignore[method-assign]
        programs.revoke_api_key(key.id)

    programs.db.read = read_then_revoked  # type: ignore[method-assign]
    try:
        assert programs.authenticate(token) == key  # the request already under way may pass
    finally:
        programs.db.read = real_read  # type: ignore[method-assign]
    assert programs.cached_key(token) is None
    assert programs.authenticate(token) is None


def test_unknown_keys_are_not_remembered(programs: ProgramService, program_id: str) -> None:
    for n in range(50):
        assert programs.authenticate(f"dgl_{n:016x}_nope") is None
    known: Any = programs._known  # noqa: SLF001 - the point is what it holds
    assert known == {}


def test_revocations_racing_each_other_answer_the_same(services: Services, program_id: str) -> None:
    # On the system clock: two revocations that both wrote would answer different times.
    programs = ProgramService(services.db)
    keys = [programs.create_api_key(program_id, {Scope.READ}, f"till-{n}")[0] for n in range(10)]
    for key in keys:
        start = threading.Barrier(2)

        def revoke(_: int, key_id: str = key.id, start: threading.Barrier = start) -> IssuedKey:
            start.wait()
            return programs.revoke_api_key(key_id)

        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(revoke, range(2))
        assert first == second and first.revoked_at is not None
        assert programs.api_keys(program_id)[keys.index(key)] == first
