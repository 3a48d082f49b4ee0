"""Whatever happens to a backup file, a restore either refuses it (one line, nothing made)
or restores exactly what was backed up: a flipped byte anywhere, or the file cut short
anywhere. (SQLite: the archive and its checks are the engines' same code.)"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dangol.domain import FixedClock
from dangol.service.backup import BackupService
from dangol.service.container import Services
from dangol.storage.backups import BackupError
from dangol.storage.database import Database
from dangol.storage.migrate import upgrade
from logserver.support import every_kind

from .conftest import rows


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, Any]]:
    """A backup of a database with one of every transaction and a signed log, and its rows."""
    directory = tmp_path_factory.mktemp("source")
    url = f"sqlite:///{directory / 'dangol.db'}"
    db = Database(url)
    upgrade(db)
    db.dispose()
    clock = FixedClock(datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc))
    services = Services.open(url, clock, migrate=False)
    try:
        every_kind(services, clock)
        services.log.integrate()
        services.log.sign()
    finally:
        services.db.dispose()
    BackupService(url).backup(directory / "dangol.backup")
    return (directory / "dangol.backup").read_bytes(), rows(url)


# Where damage lands: the first member's header, the manifest and the archive's end, anywhere.
places = st.one_of(st.integers(0, 1535), st.integers(-12_000, -1), st.integers(0, 10**9))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=places, how=st.sampled_from(["flip", "cut"]), bits=st.integers(1, 255))
def test_a_damaged_backup_is_refused_or_restores_exactly_what_was_backed_up(
        backed_up: tuple[bytes, dict[str, Any]], where: int, how: str, bits: int) -> None:
    original, expected = backed_up
    at = where % len(original)
    damaged = bytearray(original)
    if how == "flip":
        damaged[at] ^= bits
    else:
        del damaged[at:]
    with tempfile.TemporaryDirectory() as scratch:
        backup, target = Path(scratch) / "damaged.backup", Path(scratch) / "restored" / "dangol.db"
        backup.write_bytes(bytes(damaged))
        try:
            BackupService(f"sqlite:///{target}").restore(backup)
        except BackupError as error:
            event("refused")
            assert "\n" not in str(error) and str(backup) in str(error)
            assert not target.exists()
            return
        event("restored")
        assert rows(f"sqlite:///{target}") == expected
