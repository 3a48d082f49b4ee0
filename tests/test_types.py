"""The package type-checks: mypy --strict, as configured in pyproject.toml ([tool.mypy]),
reports nothing on src/dangol. Run in the suite so that type errors fail here, where
they are made, rather than piling up until someone runs mypy by hand."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[1]


def _cache_dir() -> Path:
    # Outside the source tree, but kept between runs: a warm check takes about a second,
    # a cold one some ten (more on a loaded machine). One per checkout, so that trees of
    # different branches do not keep invalidating each other's cache; mypy itself checks
    # that a cache entry matches its source and its own version before using it.
    tree = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"dangol-mypy-cache-{tree}"


def test_the_package_type_checks() -> None:
    report, errors, status = api.run(["--config-file", str(ROOT / "pyproject.toml"),
                                      "--cache-dir", str(_cache_dir()), str(ROOT / "src" / "dangol")])
    assert status == 0, f"mypy found type errors (exit status {status}):\n{report}{errors}"
