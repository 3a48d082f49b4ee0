"""How long work reports how far it got: (what it is doing, done, out of), in the unit of
that phase (pages, tables or bytes). The command line draws it as a progress bar."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]


def quiet(phase: str, done: int, total: int) -> None:
    """Progress nobody watches."""
