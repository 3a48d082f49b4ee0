"""How many connections a PostgreSQL server takes, read from the server itself: what
`dangol serve` checks its processes' pools against before it starts them."""

from __future__ import annotations

from dataclasses import dataclass

from .database import Database


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_connections: int
    reserved: int  # of those, kept for superusers (and, PostgreSQL 16+, for roles granted them)
    in_use: int  # client connections open now, besides the one that asked

    @property
    def usable(self) -> int:
        """What an ordinary role may open, all clients together."""
        return self.max_connections - self.reserved

    @property
    def free(self) -> int:
        """What is left of that now."""
        return max(self.usable - self.in_use, 0)


def connection_limits(db: Database) -> ConnectionLimits | None:
    """The server's limits; None on SQLite, which has no server."""
    if db.is_sqlite:
        return None
    with db.read() as conn:
        row = conn.exec_driver_sql(
            "SELECT current_setting('max_connections')::int,"
            " current_setting('superuser_reserved_connections')::int"
            " + coalesce(current_setting('reserved_connections', true)::int, 0),"  # absent before PostgreSQL 16
            " (SELECT count(*) FROM pg_stat_activity"
            "   WHERE backend_type = 'client backend' AND pid <> pg_backend_pid())").one()
    return ConnectionLimits(int(row[0]), int(row[1]), int(row[2]))
