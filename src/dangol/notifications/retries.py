"""When a failed delivery is tried again: exponential backoff with jitter, then dead-letter.

Try n (1-based) that failed is followed, if n < max_attempts, by another after
base * factor^(n-1), capped, stretched by a random factor in [1 - jitter, 1 + jitter] so
that deliveries failed together (a receiver that was down) do not all come back at once.
After the last try the delivery is dead: only a redelivery on demand sends it again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base: timedelta = timedelta(seconds=30)
    factor: int = 2
    cap: timedelta = timedelta(hours=6)
    jitter: float = 0.2

    def next_attempt(self, attempts: int, now: datetime, unit: float) -> datetime | None:
        """After `attempts` failed tries, when to try again (None: dead). `unit` is a
        random number in [0, 1) (the caller's generator, so tests can fix it)."""
        if attempts >= self.max_attempts:
            return None
        delay = min(self.base * self.factor ** (attempts - 1), self.cap)
        stretch = 1 + self.jitter * (2 * unit - 1)
        later: datetime = now + delay * stretch
        return later
