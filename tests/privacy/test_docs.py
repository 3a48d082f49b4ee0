"""docs/privacy.md's runbook, run as written (as tests/cli/test_readme.py runs docs/cli.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.test_readme import ROOT, console_steps, run_steps


def test_the_privacy_runbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_steps(console_steps((ROOT / "docs" / "privacy.md").read_text()), {}) >= 12
