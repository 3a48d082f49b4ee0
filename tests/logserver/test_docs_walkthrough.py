"""docs/transparency.md's "Verify everything from scratch" runs as written: its bash
block, with the installed `dangol` command, against a server on a real database."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dangol.domain import FixedClock
from dangol.domain.commands import Earn
from dangol.service.container import Services

from .live import live
from .support import PROGRAM, every_kind

DOC = Path(__file__).resolve().parents[2] / "docs" / "transparency.md"


def walkthrough() -> str:
    section = DOC.read_text().split("### Verify everything from scratch", 1)[1]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)[0]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walkthrough uses curl")
def test_the_walkthrough_runs(services: Services, clock: FixedClock, tmp_path: Path) -> None:
    r = every_kind(services, clock)
    receipt = services.ledger.run(PROGRAM, Earn(r["alice"], points=123), "walkthrough-1")["log"][0]
    services.log.integrate()
    services.log.sign()
    bin_dir = str(Path(sys.executable).parent)
    with live(services) as url:
        env = {**os.environ, "LOG": url, "SEQUENCE": str(receipt["sequence"]), "LEAF_HASH": receipt["leaf_hash"],
               "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", walkthrough()], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    oks = [line for line in done.stdout.splitlines() if line.startswith("OK: ")]
    assert len(oks) == 8, done.stdout
    assert "the receipt is entry" in done.stdout and "program market:" in done.stdout
