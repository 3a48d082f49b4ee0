"""Running `dangol` in-process, as a user would from a shell."""

from __future__ import annotations

import re

from typer.testing import CliRunner, Result

from dangol.cli.main import app

TOKEN = re.compile(r"dgl_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")


def dangol(url: str, *args: str) -> Result:
    return CliRunner().invoke(app, ["--database-url", url, *args])


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def one_error_line(result: Result) -> str:
    """The error a failed command printed: exactly one line on stderr, no traceback."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]
