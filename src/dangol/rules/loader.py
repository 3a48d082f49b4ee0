"""The adapter from ruleset files (YAML or JSON) to the pure core: text in, plain data
plus the line of every field out, then `validation.build_ruleset`. The only module of
dangol.rules that uses a third-party library (PyYAML, for its composed nodes' marks)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path as FilePath

import yaml

from .errors import InvalidRuleset, Path, RulesetProblem
from .model import Ruleset
from .validation import build_ruleset

Lines = dict[Path, int]


def load_ruleset(text: str, format: str = "yaml") -> Ruleset:
    """Parse and validate; raises InvalidRuleset (syntax errors included) with lines."""
    data, lines = read_document(text, format)
    return build_ruleset(data, lines)


def load_ruleset_file(path: str | FilePath) -> Ruleset:
    path = FilePath(path)
    return load_ruleset(path.read_text(encoding="utf-8"), "json" if path.suffix == ".json" else "yaml")


def load_example(name: str = "market") -> Ruleset:
    """A ruleset shipped with dangol (src/dangol/rules/examples/<name>.yaml)."""
    return load_ruleset((resources.files("dangol.rules") / "examples" / f"{name}.yaml").read_text(encoding="utf-8"))


def read_document(text: str, format: str = "yaml") -> tuple[object, Lines]:
    """Plain data (dicts, lists, str, int, bool, None, float) and the 1-based line of each path."""
    if format == "json":
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as error:
            raise InvalidRuleset([RulesetProblem((), f"not valid JSON: {error.msg}", error.lineno, None)]) from None
        except _Duplicate as duplicate:
            raise InvalidRuleset([RulesetProblem((duplicate.key,), "duplicate key")]) from None
        lines: Lines = {}
        try:  # JSON is (almost always) YAML: its composed nodes give the lines.
            composed = yaml.compose(text, Loader=yaml.SafeLoader)
            if composed is not None:  # None only for an empty document, which is not JSON
                _walk(composed, (), lines, [])
        except yaml.YAMLError:
            pass
        return data, lines
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        message = getattr(error, "problem", None) or str(error)
        raise InvalidRuleset([RulesetProblem((), f"not valid YAML: {message}",
                                             mark.line + 1 if mark else None)]) from None
    if node is None:
        raise InvalidRuleset([RulesetProblem((), "the document is empty")])
    lines = {}
    problems: list[RulesetProblem] = []
    try:
        data = _walk(node, (), lines, problems)
    except yaml.YAMLError as error:  # a scalar no safe constructor takes, e.g. the `=` value tag
        mark = getattr(error, "problem_mark", None)
        raise InvalidRuleset([RulesetProblem((), f"not valid YAML: {getattr(error, 'problem', None) or error}",
                                             mark.line + 1 if mark else None)]) from None
    if problems:
        raise InvalidRuleset(problems)
    return data, lines


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _Duplicate(key)
        result[key] = value
    return result


_SCALARS = yaml.SafeLoader("")  # constructs one scalar node at a time; holds no document


def _walk(node: yaml.Node, path: Path, lines: Lines, problems: list[RulesetProblem]) -> object:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in result:
                problems.append(RulesetProblem((*path, key), "duplicate key", key_node.start_mark.line + 1))
                continue
            result[key] = _walk(value_node, (*path, key), lines, problems)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*path, index), lines, problems) for index, item in enumerate(node.value)]
    if node.tag == "tag:yaml.org,2002:timestamp":
        return node.value  # dates stay text: validation parses them, with its own messages
    return _SCALARS.construct_object(node)
