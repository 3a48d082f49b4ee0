"""docs/rules.md's examples run: its ruleset document loads, its expressions compile."""

from __future__ import annotations

import re
from pathlib import Path

from dangol.rules import compile_expression
from dangol.rules.loader import load_ruleset
from dangol.rules.vocabulary import Type

DOC = (Path(__file__).parents[2] / "docs" / "rules.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.S)


def test_the_documents_ruleset_loads() -> None:
    documents = [b for b in blocks("yaml") if b.startswith("program:")]
    assert documents
    for document in documents:
        ruleset = load_ruleset(document)
        assert ruleset.event_types == ("workshop_attended",)


def test_the_documents_expressions_compile() -> None:
    examples = next(b for b in blocks("text") if "event.amount >= 30000" in b).strip().splitlines()
    for example in examples:
        compile_expression(example, Type.INT if example.startswith("max(") else Type.BOOL)


def test_the_documents_caps_are_valid() -> None:
    caps = next(b for b in blocks("yaml") if b.startswith("caps:"))
    header = 'program: p\nversion: v\neffective_from: "2025-01-01T00:00:00Z"\ncurrency: KRW\nrules:\n  - id: r\n    on: review\n    actions: [{award_points: {fixed: 1}}]\n'
    load_ruleset(header + "".join("    " + line + "\n" for line in caps.splitlines()))
