"""Column types shared by every table."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@lru_cache(maxsize=4096)
def to_micros(moment: datetime) -> int:
    """Cached: a batch writes the same few instants (its `now`, the expiry a year on)
    thousands of times. Equal instants in any zone give the same integer."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


class Timestamp(TypeDecorator[datetime]):
    """UTC instants as integer microseconds since the epoch: exact, ordered, and the same
    on SQLite and PostgreSQL (SQLite has no timestamp type and would lose the zone)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> int | None:
        return None if value is None else to_micros(value)

    def process_result_value(self, value: int | None, dialect: object) -> datetime | None:
        return None if value is None else from_micros(value)
