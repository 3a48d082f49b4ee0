"""The Alembic migrations and the table definitions must describe the same schema, on
both engines: a change to tables.py without a migration fails here."""

from __future__ import annotations

from datetime import datetime, timezone

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from dangol.domain import FixedClock
from dangol.service.container import Services
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



def test_0009_starts_the_histories_from_what_the_database_holds(services: Services, program_id: str,
                                                                 clock: FixedClock) -> None:
    """A database from before 0009 has profiles and statuses but no history of them: the
    upgrade takes each profile as held since the member's enrolment (what replay assumed
    until then) and a member not active as such from the upgrade on."""
    from alembic import command

    from dangol.domain import MemberStatus
    from dangol.domain.commands import Enroll, SetMemberStatus
    from dangol.storage import tables as t

    enrolled = clock.now()
    for ref in ("ana", "ben"):
        services.ledger.run(program_id, Enroll(ref, f"m_{ref}"))
    clock.advance(days=3)
    services.profiles.update(program_id, "m_ana", {"time_zone": "Europe/Paris", "birthday_month": 5,
                                                   "birthday_day": 17, "tags": ["vip"]})
    services.ledger.run(program_id, SetMemberStatus("m_ben", MemberStatus.SUSPENDED))
    config = alembic_config()
    with services.db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0008")
    before = datetime.now(timezone.utc)
    upgrade(services.db)
    profiles, statuses = t.member_profile_history, t.member_status_history
    with services.db.read() as conn:
        versions = conn.execute(profiles.select()).mappings().all()
        changes = conn.execute(statuses.select()).mappings().all()
    assert [(v["member_id"], v["time_zone"], v["birthday_month"], v["birthday_day"], v["tags"], v["recorded_at"])
            for v in versions] == [("m_ana", "Europe/Paris", 5, 17, '["vip"]', enrolled)]
    assert [(c["member_id"], c["status"]) for c in changes] == [("m_ben", "suspended")]
    assert changes[0]["recorded_at"] >= before
