"""The CDNOW sample (Fader, Hardie & Lee 2005): 2,357 customers who first bought in the first
quarter of 1997, and their purchases to June 1998. Read from the copy the `lifetimes` 0.11.3
wheel ships (a test and benchmark dependency only), with importlib.resources: importing
lifetimes.datasets would need pkg_resources.

Each line: customer id, sample id, date (YYYYMMDD), number of CDs, dollars."""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

# The papers' 39-week calibration period: 1 January to 30 September 1997.
CALIBRATION_END = date(1997, 9, 30).toordinal()
FIRST_DAY = date(1997, 1, 1).toordinal()
LAST_DAY = date(1998, 6, 30).toordinal()


@dataclass(frozen=True, slots=True)
class Purchases:
    member: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]  # proleptic Gregorian ordinal
    spend: npt.NDArray[np.float64]  # dollars


def load_cdnow() -> Purchases:
    text = importlib.resources.files("lifetimes").joinpath("datasets", "CDNOW_sample.txt").read_text()
    members, days, spends = [], [], []
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        stamp = fields[2]
        members.append(int(fields[0]))
        days.append(date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:])).toordinal())
        spends.append(float(fields[4]))
    return Purchases(np.array(members, dtype=np.int64), np.array(days, dtype=np.int64),
                     np.array(spends, dtype=np.float64))
