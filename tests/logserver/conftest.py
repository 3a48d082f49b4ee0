from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.service.log import LogSettings


@pytest.fixture
def log_settings(tmp_path: Path) -> LogSettings:
    return LogSettings("dangol.test/ledger", tmp_path / "keys" / "log.key")


@pytest.fixture
def services(database_url: str, clock: FixedClock, log_settings: LogSettings) -> Iterator[Services]:
    """The shared fixture's services, with the log's key in the test's directory."""
    svc = Services.open(database_url, clock, migrate=False, log_settings=log_settings)
    yield svc
    svc.db.dispose()
