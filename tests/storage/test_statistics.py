"""Imports keep PostgreSQL's planner statistics fresh: without them the per-batch lookups
turn into scans of every row of the program, and an import slows down batch after batch."""

from __future__ import annotations

import pytest

from dangol.storage.database import Database
from dangol.storage.statistics import MIN_CHANGES, refresh_stale_statistics


def _add_members(db: Database, count: int) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO programs (id, name, currency, lot_validity_days, min_redemption, "
                             "allow_negative_balance, allow_transfers, hold_timeout_seconds, earn_rate_points, "
                             "earn_rate_per_minor_units, rounding, created_at) "
                             "VALUES ('stats', 'Stats', 'KRW', 365, 1000, false, false, 900, 5, 100, 'floor', 0)")
        conn.exec_driver_sql(
            "INSERT INTO members (id, program_id, external_ref, status, enrolled_at) "
            "SELECT 'm_' || n, 'stats', 'c-' || n, 'active', 0 FROM generate_series(1, %s) AS n", (count,))
        conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")  # publish the counts at commit


def _analyzed(db: Database, table: str) -> bool:
    with db.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = %s",
                                    (table,)).scalar()


def test_tables_that_grew_are_analyzed_once(database_url: str) -> None:
    db = Database(database_url)
    if db.is_sqlite:
        assert refresh_stale_statistics(db) == []
        db.dispose()
        pytest.skip("SQLite's planner needs no statistics for the ledger's lookups")
    assert refresh_stale_statistics(db) == []  # an empty ledger: nothing to do
    _add_members(db, MIN_CHANGES + 1)
    assert refresh_stale_statistics(db) == ["members"]
    assert _analyzed(db, "members")
    assert refresh_stale_statistics(db) == []  # nothing changed since
    with db.engine.begin() as conn:  # the events service's bulk tables are watched too
        conn.exec_driver_sql("INSERT INTO member_counters (member_id, key, value) "
                             "SELECT 'm_' || n, 'stats/purchases/total', 1 FROM generate_series(1, %s) AS n",
                             (MIN_CHANGES + 1,))
        conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")
    assert refresh_stale_statistics(db) == ["member_counters"]
    db.dispose()
