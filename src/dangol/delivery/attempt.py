"""What one try of a delivery came to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Attempt:
    delivered: bool
    status: int | None = None  # the receiver's HTTP status or SMTP reply code
    error: str | None = None
    permanent: bool = False  # no use trying again (a refused address, a bounce)
