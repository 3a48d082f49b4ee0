"""Server-rendered SVG bar charts: the geometry is computed here (plain Python), the
template draws it (templates/console/_chart.html) with a title, a description and the
figures as a table, so a screen reader (or a printout) has every number the bars show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 600
HEIGHT = 160
GAP = 2


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True, slots=True)
class Chart:
    id: str
    title: str
    bars: list[Bar]
    maximum: int
    width: int = WIDTH
    height: int = HEIGHT


def bar_chart(chart_id: str, title: str, labels: Sequence[str], values: Sequence[int]) -> Chart:
    """One bar per value, scaled to the largest (all zero: flat)."""
    top = max([0, *values])
    step = WIDTH / max(1, len(values))
    bars = []
    for index, (label, value) in enumerate(zip(labels, values)):
        height = 0.0 if top == 0 else HEIGHT * max(0, value) / top
        bars.append(Bar(round(index * step, 2), round(HEIGHT - height, 2), round(max(1.0, step - GAP), 2),
                        round(height, 2), label, value))
    return Chart(chart_id, title, bars, top)
