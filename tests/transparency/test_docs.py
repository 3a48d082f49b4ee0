"""docs/transparency.md shows auditors how to verify: its Python must run as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from cli.test_readme import console_steps
from typer.testing import CliRunner

from dangol.cli.main import app
from dangol.transparency import SIG_COSIGNATURE_V1, SignerKey, VerifierKey

DOC = Path(__file__).resolve().parents[2] / "docs" / "transparency.md"


def test_the_python_in_the_transparency_doc_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert blocks, "docs/transparency.md has no python block"
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})  # noqa: S102 - our own documentation


def test_the_witness_key_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The doc's one console example, `dangol witness keygen`: it prints a verifier key of
    the shape shown (the key itself is new each time) for the key file it wrote."""
    monkeypatch.chdir(tmp_path)
    [step] = console_steps(DOC.read_text())
    result = CliRunner().invoke(app, shlex.split(step.command)[1:])
    assert result.exit_code == 0, result.output
    shown, printed = VerifierKey.parse(step.shown[0]), VerifierKey.parse(result.stdout.strip())
    assert (printed.name, printed.sig_type) == (shown.name, shown.sig_type) == ("witness.example/w1", SIG_COSIGNATURE_V1)
    assert SignerKey.parse((tmp_path / "w1.key").read_text().strip()).vkey() == printed.encode()
