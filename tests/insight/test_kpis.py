"""KPIs against figures worked out by hand on a small program, and against the books'
own totals on the demo, on SQLite and PostgreSQL; through the API and the CLI."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dangol.api import create_app
from dangol.cli.main import app as cli
from dangol.demo.loader import load_demo
from dangol.demo.totals import program_totals
from dangol.domain import Money
from dangol.domain.clock import FixedClock
from dangol.domain.commands import Earn, Enroll, Redeem, Reverse
from dangol.domain.errors import InvalidRequest
from dangol.insight.kpis import PointValue
from dangol.service.container import Services
from dangol.service.insight.kpis import ProgramKpis
from dangol.service.programs import Scope


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=timezone.utc)


@pytest.fixture
def small(services: Services, program_id: str, clock: FixedClock) -> str:
    """Two months of a small program (5 % of spend in points):
    1 Jan  alice and bob enrol; alice buys for 40,000 KRW (order o-1): 2,000 points
    2 Jan  bob buys for 20,000 (b-1): 1,000; alice gets a 500-point bonus (no purchase)
    9 Jan  alice buys for 10,000 (o-2): 500; she redeems 1,000
    10 Jan a quarter of o-1 is refunded: 500 points reversed
    5 Feb  carol enrols and buys for 60,000 (c-1): 3,000"""
    def run(moment: datetime, command: object) -> dict[str, Any]:
        clock.set(moment)
        return services.ledger.run(program_id, command)  # type: ignore[arg-type]

    alice = run(at(1, 1), Enroll("alice"))["member"]["id"]
    bob = run(at(1, 1), Enroll("bob"))["member"]["id"]
    run(at(1, 1), Earn(alice, money=Money(40_000, "KRW"), order_ref="o-1"))
    run(at(1, 2), Earn(bob, money=Money(20_000, "KRW"), order_ref="b-1"))
    run(at(1, 2), Earn(alice, points=500))
    run(at(1, 9), Earn(alice, money=Money(10_000, "KRW"), order_ref="o-2"))
    run(at(1, 9), Redeem(alice, 1_000))
    run(at(1, 10), Reverse(alice, "o-1", Money(10_000, "KRW")))
    carol = run(at(2, 5), Enroll("carol"))["member"]["id"]
    run(at(2, 5), Earn(carol, money=Money(60_000, "KRW"), order_ref="c-1"))
    clock.set(at(3, 1))
    return program_id


def test_monthly_kpis_are_the_hand_computed_figures(services: Services, small: str) -> None:
    report = ProgramKpis(services.db, services.clock).report(small, "month", date(2026, 1, 1), date(2026, 2, 28),
                                                             PointValue(minor=3, points=2))
    january, february = report["rows"]
    assert january == {
        "period": "2026-01-01", "from": "2026-01-01", "to": "2026-01-31", "enrolments": 2,
        "active_members_30d": 2, "active_members_90d": 2,  # bob's 2 January purchase still counts on 31 January
        "points_issued": 4_000, "points_redeemed": 1_000, "points_expired": 0, "points_reversed": 500,
        "points_adjusted": 0, "points_outstanding": 2_500, "liability_minor": 3_750,  # 2,500 x 3/2
        "redemption_rate": 0.25, "breakage_to_date": 0.0, "purchases": 3, "revenue_minor": 70_000,
        "average_order_minor": 23_333, "repeat_purchase_rate": 0.5}  # alice bought on two days, bob on one
    assert february == {
        "period": "2026-02-01", "from": "2026-02-01", "to": "2026-02-28", "enrolments": 1,
        "active_members_30d": 1, "active_members_90d": 3,  # alice's last activity (9 Jan) is 50 days old
        "points_issued": 3_000, "points_redeemed": 0, "points_expired": 0, "points_reversed": 0,
        "points_adjusted": 0, "points_outstanding": 5_500, "liability_minor": 8_250,
        "redemption_rate": 0.0, "breakage_to_date": 0.0, "purchases": 1, "revenue_minor": 60_000,
        "average_order_minor": 60_000, "repeat_purchase_rate": 0.3333}


def test_weeks_start_on_monday_and_empty_ratios_are_null(services: Services, small: str) -> None:
    report = ProgramKpis(services.db, services.clock).report(small, "week", date(2026, 1, 1), date(2026, 1, 18))
    assert [(r["period"], r["from"], r["to"]) for r in report["rows"]] == [
        ("2025-12-29", "2026-01-01", "2026-01-04"), ("2026-01-05", "2026-01-05", "2026-01-11"),
        ("2026-01-12", "2026-01-12", "2026-01-18")]
    quiet = report["rows"][2]
    assert quiet["points_issued"] == 0 and quiet["redemption_rate"] is None and quiet["average_order_minor"] is None
    with pytest.raises(InvalidRequest):
        ProgramKpis(services.db, services.clock).report(small, "fortnight")


def test_the_api_serves_kpis_and_refuses_a_bad_period(services: Services, small: str) -> None:
    token = services.programs.create_api_key(small, {Scope.READ}, "insight")[1]
    with TestClient(create_app(services)) as client:
        answer = client.get(f"/v1/programs/{small}/insight/kpis", params={"period": "month", "from": "2026-01-01",
                                                                          "to": "2026-02-28"},
                            headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        assert [r["points_outstanding"] for r in answer.json()["rows"]] == [2_500, 5_500]
        bad = client.get(f"/v1/programs/{small}/insight/kpis", params={"period": "fortnight"},
                         headers={"Authorization": f"Bearer {token}"})
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
        backwards = client.get(f"/v1/programs/{small}/insight/kpis", params={"from": "2026-02-01", "to": "2026-01-01"},
                               headers={"Authorization": f"Bearer {token}"})
        assert backwards.status_code == 422 and backwards.json()["detail"] == "`to` is before `from`"


def test_the_cli_prints_a_table_and_csv(database_url: str, small: str) -> None:
    runner = CliRunner()
    table = runner.invoke(cli, ["--database-url", database_url, "insight", "kpis", "--program", small,
                                "--from", "2026-01-01", "--to", "2026-02-28"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "2026-02-01" in table.output and "5,500" in table.output and "25.0%" in table.output
    listing = runner.invoke(cli, ["--database-url", database_url, "insight", "kpis", "--program", small,
                                  "--from", "2026-01-01", "--to", "2026-02-28", "--csv", "--point-value", "3/2"])
    rows = list(csv.DictReader(io.StringIO(listing.output)))
    assert [(r["period"], r["liability_minor"], r["repeat_purchase_rate"]) for r in rows] == [
        ("2026-01-01", "3750", "0.5"), ("2026-02-01", "8250", "0.3333")]
    wrong = runner.invoke(cli, ["--database-url", database_url, "insight", "kpis", "--program", small,
                                "--point-value", "one"])
    assert wrong.exit_code != 0 and "MINOR/POINTS" in wrong.output


def test_the_demo_kpis_add_up_to_the_books(services: Services) -> None:
    load_demo(services, members=120, seed=7)
    totals = program_totals(services.db, "market")
    report = ProgramKpis(services.db, services.clock).report("market", "month", date(2020, 1, 1),
                                                             services.clock.now().date())
    rows = report["rows"]
    assert sum(r["points_issued"] for r in rows) == totals.issued
    assert sum(r["points_redeemed"] for r in rows) == totals.redeemed
    assert sum(r["points_expired"] for r in rows) == totals.expired
    assert sum(r["points_reversed"] for r in rows) == totals.reversed
    assert sum(r["points_adjusted"] for r in rows) == totals.adjusted
    assert rows[-1]["points_outstanding"] == totals.outstanding
    assert sum(r["enrolments"] for r in rows) == totals.members
    assert services.check.run().ok
