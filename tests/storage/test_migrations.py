"""The Alembic migrations and the table definitions must describe the same schema, on
both engines: a change to tables.py without a migration fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from dangol.storage.database import Database
from dangol.storage.migrate import alembic_config, current_revision, head_revision, is_up_to_date, upgrade
from dangol.storage.tables import metadata


def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    db = Database(database_url)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    assert is_up_to_date(db)
    db.dispose()


def test_downgrade_to_nothing_and_back(database_url: str) -> None:
    from alembic import command

    db = Database(database_url)
    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert current_revision(db) is None
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade(db)
    assert current_revision(db) == head_revision()
    assert {"transactions", "postings", "lots", "members"} <= set(inspect(db.engine).get_table_names())
    db.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    upgrade(db)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    db.dispose()


def test_sqlite_connections_get_the_cache_and_checkpoint_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database(f"sqlite:///{tmp_path / 'settings.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -65536
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    db.dispose()

