"""Health, readiness, expiry runs, and the factory uvicorn runs."""

from __future__ import annotations

import gc
import json
import re
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dangol.api import app_from_env, create_app
from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.storage.database import Database
from dangol.storage.migrate import head_revision

from .helpers import Api, assert_problem


def test_health_and_readiness(client: TestClient, services: Services) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["database"] == services.db.dialect


def test_the_docs_show_readiness_at_the_head_revision(client: TestClient, services: Services) -> None:
    root = Path(__file__).parents[2]
    api = (root / "docs" / "api.md").read_text(encoding="utf-8")
    [shown] = re.findall(r'answers `(\{"status": "ready".*?\})`', api)
    assert json.loads(shown) == {**client.get("/readyz").json(), "database": "sqlite"}  # the example is SQLite's
    # `dangol init` says the schema it left the database at: the same revision.
    cli = (root / "docs" / "cli.md").read_text(encoding="utf-8")
    assert set(re.findall(r"is ready \(schema (\w+)\)", cli)) == {head_revision()}


def test_an_unmigrated_database_is_not_ready(tmp_path: Path, clock: FixedClock) -> None:
    services = Services.open(f"sqlite:///{tmp_path / 'empty.db'}", clock, migrate=False)
    try:
        with TestClient(create_app(services)) as client:
            assert client.get("/healthz").status_code == 200
            body = assert_problem(client.get("/readyz"), 503, "not-ready")
            assert body["revision"] is None
    finally:
        services.db.dispose()


def test_an_unreachable_database_is_not_ready(clock: FixedClock) -> None:
    services = Services(Database("postgresql://nobody@127.0.0.1:1/none"), clock)
    with TestClient(create_app(services)) as client:
        assert_problem(client.get("/readyz"), 503, "not-ready")


def test_expiry_runs_expire_what_is_due(admin: Api, program_id: str, member_id: str, clock: FixedClock) -> None:
    base = f"/v1/programs/{program_id}/members/{member_id}"
    admin.post(f"{base}/earn", {"points": 1_200, "expires_at": "2026-01-10T00:00:00Z"})
    admin.post(f"{base}/earn", {"points": 800})
    assert admin.get(f"{base}/balance").json()["expiring_soon"] == {
        "within_days": 30, "points": 1_200, "next_expiry": "2026-01-10T00:00:00Z"}

    early = admin.post(f"/v1/programs/{program_id}/expiry-runs", {"as_of": "2025-12-31T00:00:00Z"})
    assert early.json()["expired_points"] == 0
    clock.advance(days=10)
    assert_problem(admin.post(f"/v1/programs/{program_id}/expiry-runs", {"as_of": "2027-01-01T00:00:00Z"}),
                   422, "validation-error")
    report = admin.post(f"/v1/programs/{program_id}/expiry-runs")
    assert report.status_code == 200, report.text
    assert report.json()["expired_points"] == 1_200
    assert report.json()["programs"] == [program_id]
    assert report.json()["as_of"] == "2026-01-11T09:00:00Z"
    assert admin.get(f"{base}/balance").json()["available"] == 800
    assert admin.get(f"{base}/transactions").json()["items"][0]["kind"] == "expire"


def test_app_from_env_opens_the_configured_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANGOL_DATABASE_URL", f"sqlite:///{tmp_path / 'served.db'}")
    try:
        with TestClient(app_from_env()) as client:
            assert client.get("/readyz").json()["status"] == "ready"
            # A server's startup objects are out of the collector's reach (see app._freeze_heap).
            assert gc.get_freeze_count() > 0
            # and its WAL is checkpointed by a thread of its own, not by requests' commits
            assert "dangol-wal-checkpointer" in {thread.name for thread in threading.enumerate()}
    finally:
        gc.unfreeze()  # this is a test process, not a server
    assert "dangol-wal-checkpointer" not in {thread.name for thread in threading.enumerate()}
    assert (tmp_path / "served.db").exists()


def test_apps_made_by_others_leave_the_collector_alone(services: Services) -> None:
    with TestClient(create_app(services)) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() == 0
