"""Why a model gives no numbers: too little data, or data that cannot identify it."""

from __future__ import annotations

from ..domain.errors import DomainError


class InsufficientData(DomainError):
    """A model asked of too little data (too few members, no repeat buyers) says so and
    why, instead of returning numbers that mean nothing (or NaN)."""

    code = "insufficient-data"
    title = "Too little data for this model"


class UnknownExperiment(DomainError):
    code = "unknown-experiment"
    title = "Unknown experiment"
