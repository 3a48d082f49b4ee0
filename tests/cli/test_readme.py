"""The command-line examples of README.md and docs/cli.md, run as written.

Each `$ ` line of a `console` block is run in order in a scratch directory (`dangol`
in-process, anything else with bash; `export` sets the environment of what follows).
A command shown with an `error:` line must fail with exit code 2, every other one must
succeed, and every line of text it is shown printing (not tables or JSON) must appear in
its output, with numbers, ids and keys free to differ."""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dangol.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
_VARIABLE = re.compile(r"(dgl_\S*)|(m_[0-9a-f]{20})|(\b[0-9a-f]{16}\b)|(\d[\d,.]*)")
_FREE = [r"dgl_\S+", r"m_[0-9a-f]{20}", r"[0-9a-f]{16}", r"[\d,.]+"]


@dataclass(frozen=True)
class Step:
    command: str
    shown: list[str]


def console_steps(markdown: str) -> list[Step]:
    steps = []
    for block in re.findall(r"```console\n(.*?)```", markdown, re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            command = lines[i][2:]
            i += 1
            heredoc = re.search(r"<<'(\w+)'$", command)
            if heredoc:
                end = lines.index(heredoc.group(1), i)
                command = "\n".join([command, *lines[i:end + 1]])
                i = end + 1
            shown = []
            while i < len(lines) and not lines[i].startswith("$ "):
                shown.append(lines[i])
                i += 1
            steps.append(Step(command, shown))
    return steps


def pattern(line: str) -> re.Pattern[str]:
    parts, last = [], 0
    for match in _VARIABLE.finditer(line):
        parts.append(re.escape(line[last:match.start()]))
        parts.append(_FREE[match.lastindex - 1])  # type: ignore[operator]
        last = match.end()
    parts.append(re.escape(line[last:]))
    return re.compile("".join(parts))


def run_steps(steps: list[Step], env: dict[str, str]) -> int:
    ran = 0
    for step in steps:
        if step.command.startswith(("make ", "source ")):
            continue  # the test suite itself runs inside what these set up
        exported = re.fullmatch(r"export (\w+)=(\S+)", step.command)
        if exported:
            env[exported.group(1)] = exported.group(2)
            continue
        if step.command.startswith("dangol "):
            result = CliRunner().invoke(app, shlex.split(step.command)[1:], env=env)
            code, output = result.exit_code, result.output
        else:
            done = subprocess.run(["bash", "-c", step.command], env={"PATH": "/usr/bin:/bin", **env},
                                  capture_output=True, text=True, timeout=60)
            code, output = done.returncode, done.stdout + done.stderr
        failing = bool(step.shown) and step.shown[0].startswith("error:")
        assert code == (2 if failing else 0), f"$ {step.command}\n{output}"
        printed = output.splitlines()
        for line in step.shown:
            if line[:1].isalpha():
                assert any(pattern(line).fullmatch(p) for p in printed), f"$ {step.command}\nwanted: {line}\n{output}"
        ran += 1
    return ran


def test_the_readme_cli_tour(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # What `make run` does before serving.
    for command in (["init"], ["demo"]):
        assert CliRunner().invoke(app, ["--database-url", "sqlite:///var/dangol.db", *command]).exit_code == 0
    assert run_steps(console_steps((ROOT / "README.md").read_text()), {}) >= 6


def test_the_cli_documentation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_steps(console_steps((ROOT / "docs" / "cli.md").read_text()), {}) >= 10


def test_a_shown_line_must_really_be_printed() -> None:
    assert pattern("OK: the books balance (131 transactions, 30 members, 118 lots).").fullmatch(
        "OK: the books balance (2,042 transactions, 302 members, 1,705 lots).")
    assert not pattern("OK: the books balance (131 transactions).").fullmatch("FAILED: 1 mismatches (131 transactions).")
    assert pattern("Member m_8c2e608ea8ca28fa48b2 (customer-00002), active").fullmatch(
        "Member m_0123456789abcdef0123 (customer-00002), active")
