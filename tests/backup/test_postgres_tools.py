"""PostgreSQL's backups need pg_dump, pg_restore and psql of the server's major version: when
they are missing or of another version, `dangol backup` and `dangol restore` say which and
where they looked, in one line, and write nothing."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import drop_postgres, fresh_postgres_url
from dangol.storage.backups.postgres import BIN_ENV, TOOLS
from dangol.storage.database import Database

from .conftest import dangol, ok, refused


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    url, name = fresh_postgres_url(postgres_template)
    yield url
    drop_postgres(name)


def server_version(url: str) -> str:
    db = Database(url)
    try:
        with db.read() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar()).split()[0]
    finally:
        db.dispose()


def fake_tools(directory: Path, version: str) -> Path:
    directory.mkdir()
    for tool in TOOLS:
        script = directory / tool
        script.write_text(f"#!/bin/sh\necho '{tool} (PostgreSQL) {version}'\n")
        script.chmod(0o755)
    return directory


def test_missing_tools_are_named_with_where_they_were_looked_for(postgres_url: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv(BIN_ENV, str(tmp_path / "empty"))
    major = server_version(postgres_url).split(".")[0]
    line = refused(dangol(postgres_url, "backup", str(tmp_path / "dangol.backup")))
    assert line == (f"error: pg_dump not found in {tmp_path / 'empty'} ({BIN_ENV}): install PostgreSQL {major}'s "
                    f"client tools (Debian: postgresql-client-{major}), or set {BIN_ENV} to the directory holding them")
    assert not (tmp_path / "dangol.backup").exists()


def test_tools_of_another_major_version_are_refused(postgres_url: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    backup = tmp_path / "dangol.backup"
    ok(dangol(postgres_url, "backup", str(backup)))  # with the right tools
    url, name = fresh_postgres_url("template0")
    try:
        monkeypatch.setenv(BIN_ENV, str(fake_tools(tmp_path / "old-client", "14.9")))
        server = server_version(postgres_url)
        expected = f"is from PostgreSQL 14.9 but the server runs PostgreSQL {server}: install PostgreSQL"
        assert expected in refused(dangol(postgres_url, "backup", str(tmp_path / "another.backup")))
        assert not (tmp_path / "another.backup").exists()
        assert expected in refused(dangol(url, "restore", str(backup)))
        db = Database(url)
        with db.read() as conn:  # nothing restored
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'").scalar() == 0
        db.dispose()
    finally:
        drop_postgres(name)


def with_manifest(backup: Path, change: dict[str, object], into: Path) -> Path:
    """The backup with its manifest changed (and its digest made to match), as another
    version of dangol or of pg_dump could have written it."""
    with tarfile.open(backup) as tar:
        files = {member.name: tar.extractfile(member).read() for member in tar.getmembers()}  # type: ignore[union-attr]
    manifest = json.loads(files["manifest.json"])
    manifest.update(change)
    files["manifest.json"] = json.dumps(manifest).encode()
    files["manifest.json.sha256"] = hashlib.sha256(files["manifest.json"]).hexdigest().encode()
    with tarfile.open(into, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return into


def test_a_backup_made_by_a_newer_pg_dump_is_refused(postgres_url: str, tmp_path: Path) -> None:
    backup = tmp_path / "dangol.backup"
    ok(dangol(postgres_url, "backup", str(backup)))
    newer = with_manifest(backup, {"postgresql": {"server": "99.1", "pg_dump": "99.1"}}, tmp_path / "newer.backup")
    url, name = fresh_postgres_url("template0")
    try:
        line = refused(dangol(url, "restore", str(newer)))
        assert "the backup was made by pg_dump 99.1: restoring it needs PostgreSQL 99 or newer" in line
    finally:
        drop_postgres(name)
