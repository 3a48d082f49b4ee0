"""`dangol backup` and `dangol restore` on SQLite and PostgreSQL: a restore is the backup row
for row, with its log key; it goes only into an empty database unless forced; a backup of
an older schema is migrated, of a newer one refused; and whatever is refused changes nothing."""

from __future__ import annotations

import gzip
import json
import os
import stat
import tarfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from conftest import POSTGRES_URL, drop_postgres, fresh_postgres_url
from dangol.service.backup import BackupService
from dangol.service.container import Services
from dangol.storage.database import Database
from dangol.storage.migrate import head_revision, upgrade
from dangol.transparency import SignerKey

from .conftest import dangol, ok, refused, rows


def untouched(url: str) -> bool:
    """The empty target is as it was: no SQLite file made, no PostgreSQL table."""
    if url.startswith("sqlite"):
        return not Path(url.removeprefix("sqlite:///")).exists()
    return rows(url) == {}


def test_a_restore_is_the_backup_row_for_row_with_the_log_key(
        database_url: str, history: dict[str, Any], source_key: Path, target_url: str, target_key: Path,
        tmp_path: Path) -> None:
    backup = tmp_path / "dangol.backup"
    said = ok(dangol(database_url, "backup", str(backup)))
    assert f"to {backup} (" in said
    assert "It holds the log's signer key, a secret: keep the backup file as safe as the key itself." in said
    # The file may hold a secret key: nobody else may read it.
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    with tarfile.open(backup) as tar:
        assert sorted(tar.getnames()) == sorted([
            "database.sqlite" if database_url.startswith("sqlite") else "database.pgdump",
            "keys/log-signer.key", "manifest.json", "manifest.json.sha256"])
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["schema_revision"] == head_revision()
    assert manifest["log"]["last_checkpoint"] == manifest["log"]["tree_size"] == manifest["tables"]["log_entries"]

    restored = ok(dangol(target_url, "restore", str(backup), key=target_key))
    assert f"Restored {backup} into " in restored and f"schema {head_revision()}: 3 members," in restored
    assert f"The log's signer key: restored to {target_key}." in restored
    assert rows(target_url) == rows(database_url)
    assert target_key.read_bytes() == source_key.read_bytes()
    assert stat.S_IMODE(target_key.stat().st_mode) == 0o600
    checked = ok(dangol(target_url, "check", key=target_key))
    assert "OK: the books balance" in checked and "OK: the log matches the ledger" in checked


def test_restore_replaces_a_database_that_is_not_empty_only_with_force(
        database_url: str, history: dict[str, Any], target_url: str, target_key: Path, tmp_path: Path) -> None:
    backup = tmp_path / "dangol.backup"
    ok(dangol(database_url, "backup", str(backup)))
    ok(dangol(target_url, "init", key=target_key))  # a new database: tables, an admin key, another log key
    ok(dangol(target_url, "programs", "create", "cafe", "--name", "Café", "--currency", "KRW", key=target_key))
    before, other_key = rows(target_url), target_key.read_bytes()

    line = refused(dangol(target_url, "restore", str(backup), key=target_key))
    assert "is not empty (" in line and "pass --force to replace everything it holds" in line
    assert rows(target_url) == before and target_key.read_bytes() == other_key

    forced = ok(dangol(target_url, "restore", str(backup), "--force", key=target_key))
    assert rows(target_url) == rows(database_url)  # the café program and init's admin key are gone
    # The key init made was another log's: kept beside, not lost.
    [kept] = target_key.parent.glob("dangol-log.key.replaced-*")
    assert kept.read_bytes() == other_key
    assert f"the key that was there is kept as {kept}" in forced
    assert ok(dangol(target_url, "check", key=target_key)).count("OK: ") == 2


def test_another_key_at_the_target_is_refused_without_force(
        database_url: str, history: dict[str, Any], target_url: str, target_key: Path, tmp_path: Path) -> None:
    backup = tmp_path / "dangol.backup"
    ok(dangol(database_url, "backup", str(backup)))
    target_key.parent.mkdir()
    target_key.write_text(SignerKey.generate("dangol.local/ledger").encode() + "\n")
    other = target_key.read_bytes()
    line = refused(dangol(target_url, "restore", str(backup), key=target_key))
    assert f"{target_key} holds another key than the backup's (the log's signer key): move it away, or pass " \
           f"--force" in line
    assert untouched(target_url) and target_key.read_bytes() == other


def test_a_backup_without_keys_says_so_and_the_restore_asks_for_the_key(
        database_url: str, history: dict[str, Any], source_key: Path, target_url: str, target_key: Path,
        tmp_path: Path) -> None:
    backup = tmp_path / "dangol.backup"
    said = ok(dangol(database_url, "backup", str(backup), "--no-keys"))
    assert f"It holds no keys (--no-keys): keep the log's signer key ({source_key}) safe apart" in said
    with tarfile.open(backup) as tar:
        assert not [name for name in tar.getnames() if name.startswith("keys/")]

    # Another log's key where the restored log's goes: refused, whatever --force says.
    target_key.parent.mkdir()
    target_key.write_text(SignerKey.generate("dangol.local/ledger").encode() + "\n")
    line = refused(dangol(target_url, "restore", str(backup), "--force", key=target_key))
    assert "holds another log's key than the backup's" in line and untouched(target_url)

    target_key.unlink()
    restored = ok(dangol(target_url, "restore", str(backup), key=target_key))
    assert f"not in the backup, and there is none at {target_key}: put the log's key file there" in restored
    assert not target_key.exists()
    target_key.write_bytes(source_key.read_bytes())  # the operator brings the key kept apart
    assert ok(dangol(target_url, "check", key=target_key)).count("OK: ") == 2


def test_a_backup_of_an_older_schema_is_restored_and_migrated(database_url: str, target_url: str,
                                                              tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        url, name = f"sqlite:///{tmp_path / 'old.db'}", ""
    else:
        url, name = fresh_postgres_url("template0")
    try:
        db = Database(url)
        upgrade(db, "0009")  # the schema before import_rejects
        # A program as that schema holds one: today's code writes columns schema 0009 lacks.
        with db.write() as conn:
            conn.execute(text(
                "INSERT INTO programs (id, name, currency, lot_validity_days, min_redemption, allow_negative_balance, "
                "allow_transfers, hold_timeout_seconds, earn_rate_points, earn_rate_per_minor_units, rounding, "
                "created_at) VALUES ('cafe', 'Café', 'KRW', 365, 1000, false, false, 900, 0, 100, 'floor', "
                "1767225600000000)"))  # created_at: microseconds since the epoch
        db.dispose()
        backup = tmp_path / "old.backup"
        assert "(schema 0009: 0 members" in ok(dangol(url, "backup", str(backup)))
        restored = ok(dangol(target_url, "restore", str(backup)))
        assert f"Migrated it from schema 0009 to {head_revision()}." in restored
        after = rows(target_url)
        assert after["alembic_version"] == [(head_revision(),)] and "import_rejects" in after
        assert [row[:12] for row in after["programs"]] == rows(url)["programs"]  # with the columns added since
        assert ok(dangol(target_url, "check")).count("OK: ") == 2
    finally:
        if name:
            drop_postgres(name)


def test_a_backup_of_a_newer_schema_is_refused(database_url: str, history: dict[str, Any], target_url: str,
                                               services: Services, tmp_path: Path) -> None:
    with services.db.write() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    backup = tmp_path / "newer.backup"
    ok(dangol(database_url, "backup", str(backup)))
    line = refused(dangol(target_url, "restore", str(backup)))
    assert line == (f"error: {backup} is of schema 0099, which this dangol (schema {head_revision()}) does not "
                    f"know: restore it with dangol 0.1.0 or newer")
    assert untouched(target_url)


def test_a_backup_restores_into_its_own_engine_only(database_url: str, history: dict[str, Any], tmp_path: Path) -> None:
    backup = tmp_path / "dangol.backup"
    ok(dangol(database_url, "backup", str(backup)))
    if database_url.startswith("sqlite"):
        if not POSTGRES_URL:
            pytest.skip("needs DANGOL_TEST_POSTGRES_URL")
        other, name = fresh_postgres_url("template0")
        expected = "is a backup of a SQLite database: it restores into SQLite only"
    else:
        other, name = f"sqlite:///{tmp_path / 'other.db'}", ""
        expected = "is a backup of a PostgreSQL database: it restores into PostgreSQL only"
    try:
        assert expected in refused(dangol(other, "restore", str(backup), "--force"))
        assert untouched(other)
    finally:
        if name:
            drop_postgres(name)


def damage(backup: Path, how: str) -> Path:
    data = bytearray(backup.read_bytes())
    if how == "missing":
        return backup.with_name("nothing.backup")
    if how == "not a backup":
        backup.write_bytes(os.urandom(4096))
    elif how == "cut short":
        backup.write_bytes(data[:len(data) // 2])
    elif how == "a byte of the database":
        data[1024 + len(data) // 4] ^= 0x01
        backup.write_bytes(data)
    elif how == "an edited manifest":
        at = data.index(b'"members": ')
        data[at + 11:at + 12] = b"7" if data[at + 11:at + 12] != b"7" else b"8"
        backup.write_bytes(data)
    return backup


@pytest.mark.parametrize(("how", "said"), [
    ("missing", "no backup file at"), ("not a backup", "is not a dangol backup (not a tar file)"),
    ("cut short", "is cut short or damaged (unexpected end of data)"),
    ("a byte of the database", "is damaged: database."), ("an edited manifest", "its manifest does not match"),
])
def test_a_damaged_backup_changes_nothing(database_url: str, history: dict[str, Any], target_url: str,
                                          target_key: Path, tmp_path: Path, how: str, said: str) -> None:
    backup = tmp_path / "dangol.backup"
    ok(dangol(database_url, "backup", str(backup)))
    line = refused(dangol(target_url, "restore", str(damage(backup, how)), "--force", key=target_key))
    assert said in line
    assert untouched(target_url) and not target_key.exists()


def test_a_backup_never_replaces_a_file(database_url: str, history: dict[str, Any], tmp_path: Path) -> None:
    backup = tmp_path / "dangol.backup"
    backup.write_text("last week's backup")
    assert "exists already: a backup never replaces a file" in refused(dangol(database_url, "backup", str(backup)))
    assert backup.read_text() == "last week's backup"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".dangol.backup")] == []


def test_an_uninitialised_database_is_not_backed_up(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        missing = f"sqlite:///{tmp_path / 'none.db'}"
        assert "there is no database at" in refused(dangol(missing, "backup", str(tmp_path / "b")))
        empty, name = f"sqlite:///{tmp_path / 'empty.db'}", ""
        Path(tmp_path / "empty.db").write_bytes(b"")
    else:
        empty, name = fresh_postgres_url("template0")
    try:
        assert "is not initialised: there is nothing to back up" in refused(dangol(empty, "backup", str(tmp_path / "b")))
        assert not (tmp_path / "b").exists()
    finally:
        if name:
            drop_postgres(name)


def test_progress_is_reported_to_the_end_of_every_phase(database_url: str, history: dict[str, Any],
                                                        target_url: str, target_key: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, list[tuple[int, int]]] = {}

    def progress(phase: str, done: int, total: int) -> None:
        seen.setdefault(phase, []).append((done, total))

    BackupService(database_url).backup(tmp_path / "b", progress=progress)
    monkeypatch.setenv("DANGOL_LOG_KEY", str(target_key))
    BackupService(target_url).restore(tmp_path / "b", progress=progress)
    sqlite = database_url.startswith("sqlite")
    assert list(seen) == ["copying the database" if sqlite else "dumping tables", "writing the backup file",
                          "checking the backup file", "restoring the database" if sqlite else "restoring tables"]
    for phase, reports in seen.items():
        assert [done for done, _ in reports] == sorted(done for done, _ in reports), phase
        assert reports[-1][0] == reports[-1][1] > 0, phase


def test_key_files_beside_a_sqlite_database_that_dangol_does_not_know_are_named(
        tmp_path: Path, source_key: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dangol.db'}"
    ok(dangol(url, "init"))
    (tmp_path / "payments.key").write_text("a brand's own secret")
    said = ok(dangol(url, "backup", str(tmp_path / "dangol.backup")))
    assert f"Not in the backup: {tmp_path / 'payments.key'} (a key file dangol does not know" in said
    with tarfile.open(tmp_path / "dangol.backup") as tar:
        assert sorted(name for name in tar.getnames() if name.startswith("keys/")) == [
            "keys/data-keys.key", "keys/log-signer.key"]


def test_a_compressed_backup_restores_as_it_is(database_url: str, history: dict[str, Any], target_url: str,
                                               tmp_path: Path) -> None:
    backup = tmp_path / "dangol.backup"
    ok(dangol(database_url, "backup", str(backup)))
    compressed = tmp_path / "dangol.backup.gz"
    with gzip.open(compressed, "wb") as archive:  # what `gzip dangol.backup` does
        archive.write(backup.read_bytes())
    ok(dangol(target_url, "restore", str(compressed)))
    assert rows(target_url) == rows(database_url)


def test_a_restore_keeps_members_personal_data_readable_with_their_key_encryption_keys(
        database_url: str, services: Services, history: dict[str, Any], target_url: str, target_key: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source_ring = Path(os.environ["DANGOL_DATA_KEY_FILE"])  # the tests' own (tests/conftest.py)
    member = history["alice"]
    personal = {"name": "Kim Minji", "email": "minji@example.co.kr"}
    services.personal_data.update("market", member, personal, "cli", "pd-1")
    assert source_ring.exists()
    backup = tmp_path / "dangol.backup"
    said = ok(dangol(database_url, "backup", str(backup)))
    assert ("It holds the log's signer key and the members' key-encryption keys, secrets: keep the backup file "
            "as safe as the keys themselves.") in said
    with tarfile.open(backup) as tar:
        assert "keys/data-keys.key" in tar.getnames()

    # Restored where another ring would be made on first use: the backup's goes there instead.
    target_ring = tmp_path / "restored-keys" / "dangol-data.key"
    monkeypatch.setenv("DANGOL_DATA_KEY_FILE", str(target_ring))
    restored = ok(dangol(target_url, "restore", str(backup), key=target_key))
    assert f"The members' key-encryption keys: restored to {target_ring}." in restored
    assert target_ring.read_bytes() == source_ring.read_bytes()
    assert stat.S_IMODE(target_ring.stat().st_mode) == 0o600
    monkeypatch.setenv("DANGOL_LOG_KEY", str(target_key))
    drill = Services.open(target_url, migrate=False)
    try:
        assert drill.personal_data.read("market", member, "drill")["fields"] == personal
    finally:
        drill.db.dispose()


def test_a_backup_without_keys_says_the_restore_needs_the_key_encryption_keys(
        database_url: str, services: Services, history: dict[str, Any], target_url: str, target_key: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    member = history["alice"]
    services.personal_data.update("market", member, {"name": "Kim Minji"}, "cli", "pd-1")
    backup = tmp_path / "dangol.backup"
    said = ok(dangol(database_url, "backup", str(backup), "--no-keys"))
    assert (f"It holds no keys (--no-keys): keep the members' key-encryption keys "
            f"({os.environ['DANGOL_DATA_KEY_FILE']}) safe apart") in said
    target_ring = tmp_path / "restored-keys" / "dangol-data.key"
    monkeypatch.setenv("DANGOL_DATA_KEY_FILE", str(target_ring))
    restored = ok(dangol(target_url, "restore", str(backup), key=target_key))
    assert (f"The members' key-encryption keys: not in the backup, and there are none at {target_ring}: put the "
            f"key file kept apart there") in restored
    assert not target_ring.exists()
