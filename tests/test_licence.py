"""The licence dangol declares is the one it ships, and the third-party material its tests
quote is recorded with its own licence in NOTICE."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# SHA-256 of https://www.apache.org/licenses/LICENSE-2.0.txt, the text as published.
APACHE_2_0 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
# What a test quoting another project's published vectors names as its source.
QUOTED_SOURCES = ("transparency-dev/", "golang.org/x/", "c2sp.org/")


def test_the_declared_licence_is_shipped_as_published() -> None:
    assert hashlib.sha256((ROOT / "LICENSE").read_bytes()).hexdigest() == APACHE_2_0
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "Apache-2.0"}
    assert "licensed under the Apache License 2.0" in (ROOT / "README.md").read_text()


def test_every_quoted_source_is_recorded_in_the_notice() -> None:
    notice = (ROOT / "NOTICE").read_text()
    named = set(re.findall(r"\b((?:tests|docs)/[\w/.-]+\.(?:py|md))\b", notice))
    assert named and all((ROOT / path).is_file() for path in named), named
    quoting = {str(path.relative_to(ROOT)) for path in (ROOT / "tests").rglob("*.py")
               if path.name != Path(__file__).name and any(s in path.read_text() for s in QUOTED_SOURCES)}
    assert quoting <= named, quoting - named
