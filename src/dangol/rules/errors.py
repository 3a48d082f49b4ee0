"""Every mistake in a ruleset document, each with where it is."""

from __future__ import annotations

from dataclasses import dataclass

Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(document)"


@dataclass(frozen=True, slots=True)
class RulesetProblem:
    path: Path
    message: str
    line: int | None = None  # 1-based, when the document came from a file
    column: int | None = None  # 1-based within an expression

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        column = f" (column {self.column} of the expression)" if self.column else ""
        return f"{where}{format_path(self.path)}: {self.message}{column}"


class InvalidRuleset(ValueError):
    def __init__(self, problems: list[RulesetProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(f"{len(problems)} problem(s) in the ruleset:\n" + "\n".join(f"  {p}" for p in problems))
