"""The whitelisted functions: pure, total, integer-valued, cheap. Each is described by its
argument types so that calls are type-checked when a ruleset is validated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .facts import Facts
from .vocabulary import Type

# A compiled expression or argument: facts -> value. Any, because the value's type is
# guaranteed by the rules' own type checker when a ruleset is validated, not by mypy.
Getter = Callable[[Facts], Any]


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    params: tuple[frozenset[Type], ...]  # accepted types for each argument
    variadic: bool  # the last parameter repeats (min, max): at least len(params) arguments
    result: Type
    build: Callable[[tuple[Getter, ...]], Getter]
    doc: str


def _days_since(args: tuple[Getter, ...]) -> Getter:
    (arg,) = args

    def days_since(facts: Facts) -> int:
        # Whole calendar days between the two dates in the member's time zone, so that
        # "enrolled yesterday at 23:59" is 1 day ago at 00:01, as the member would count.
        then: datetime = arg(facts)  # a TIME argument, as the ruleset's type check ensured
        return (facts.now.local_date - then.astimezone(facts.now.local.tzinfo).date()).days
    return days_since


def _min(args: tuple[Getter, ...]) -> Getter:
    return lambda facts: min(arg(facts) for arg in args)


def _max(args: tuple[Getter, ...]) -> Getter:
    return lambda facts: max(arg(facts) for arg in args)


def _abs(args: tuple[Getter, ...]) -> Getter:
    (arg,) = args
    return lambda facts: abs(arg(facts))


def _len(args: tuple[Getter, ...]) -> Getter:
    (arg,) = args
    return lambda facts: len(arg(facts))


INT = frozenset({Type.INT})
FUNCTIONS: dict[str, Function] = {f.name: f for f in (
    Function("days_since", (frozenset({Type.TIME}),), False, Type.INT, _days_since,
             "days_since(member.enrolled_at): calendar days from that time to now, in the member's time zone"),
    Function("min", (INT, INT), True, Type.INT, _min, "min(a, b, ...): the smallest integer"),
    Function("max", (INT, INT), True, Type.INT, _max, "max(a, b, ...): the largest integer"),
    Function("abs", (INT,), False, Type.INT, _abs, "abs(a): the absolute value"),
    Function("len", (frozenset({Type.STRS, Type.INTS, Type.STR}),), False, Type.INT, _len,
             "len(event.categories): the number of items (or characters)"),
)}
