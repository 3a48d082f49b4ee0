"""Planner statistics on PostgreSQL after bulk writes.

The ledger's per-batch lookups (members by id, idempotency keys, customer references) are
index lookups only when the planner knows how large the tables are and how selective a
program id is. Without statistics, once a table passes some ten thousand rows it plans a
scan of every row of the program for each batch, and an import slows down with every batch
(measured: 25,000 enrolments/s falling to 1,600/s at 30,000 members, back to 15,000-22,000/s
after one ANALYZE; events sent in batches: 798 events/s instead of 1,582 at 40,000 events).
Autovacuum would analyze eventually; an import should not wait for it,
and PostgreSQL's own advice for bulk loads is to ANALYZE as they go. SQLite's planner needs
no statistics for these lookups."""

from __future__ import annotations

from .database import Database

# The tables the ledger and the events service write in bulk and look up per batch.
TABLES = ("members", "transactions", "postings", "lots", "holds", "refunds", "idempotency_keys",
          "member_log_keys", "log_entries",  # the log's: members' commitments are looked up per batch
          "events", "member_counters", "program_counters", "member_tiers", "tier_history",
          "engagement_progress", "engagement_badges", "engagement_coupons")
# A table is analyzed again once this share of its rows, and at least MIN_CHANGES rows,
# changed since the last time: a handful of ANALYZEs for a million-row import, each a sample.
STALE_FRACTION = 0.2
MIN_CHANGES = 5_000


def refresh_stale_statistics(db: Database) -> list[str]:
    """ANALYZEs the ledger's tables that changed much since they were last analyzed;
    returns their names. Nothing on SQLite."""
    if db.is_sqlite:
        return []
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT relname, n_mod_since_analyze, n_live_tup FROM pg_stat_user_tables WHERE relname = ANY(%s)",
            (list(TABLES),)).all()
        stale = sorted(name for name, changed, live in rows if changed >= max(MIN_CHANGES, STALE_FRACTION * live))
        for name in stale:
            conn.exec_driver_sql(f"ANALYZE {name}")
        conn.commit()
    return stale
