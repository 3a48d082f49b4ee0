"""The models on a program's own ledger (the demo), on both engines: only members who
granted personalisation are read."""

from __future__ import annotations

import pytest

from typer.testing import CliRunner

from dangol.cli.main import app as cli
from dangol.demo.loader import load_demo
from dangol.insight.errors import InsufficientData
from dangol.service.container import Services
from dangol.service.insight.training import InsightModels
from dangol.storage.insight_reads import purchases


@pytest.fixture
def demo(services: Services) -> Services:
    load_demo(services, members=120, seed=7)
    return services


def test_members_without_consent_are_left_out_of_training(demo: Services) -> None:
    models = InsightModels(demo.db, demo.clock)
    nobody = models.training_set("market")
    assert nobody.members == () and nobody.left_out > 0  # never asked is not consent
    buyers = nobody.left_out
    with demo.db.read() as conn:
        everyone = sorted({member for member, _, _ in purchases(conn, "market")})
    refusing = set(everyone[:15])
    for member in everyone:
        demo.consents.change("market", member, {"personalisation": member not in refusing}, "api")
    # A member who granted and then withdrew is left out too.
    withdrawn = everyone[20]
    demo.consents.change("market", withdrawn, {"personalisation": False}, "api", notice_version="v2")
    training = models.training_set("market")
    assert set(training.members) == set(everyone) - refusing - {withdrawn}
    assert training.left_out == len(refusing) + 1 == buyers - len(training.members)
    indexes = set(training.purchases.member.tolist())
    assert all(training.members[i] not in refusing for i in indexes)


@pytest.fixture
def full_demo(services: Services) -> Services:
    """The demo as `dangol demo` loads it (300 members): 120 are too few for BG/NBD, whose
    fit is then refused as unidentified."""
    load_demo(services)
    return services


@pytest.mark.slow
def test_lifetime_value_of_the_demo_or_a_reason(full_demo: Services, database_url: str) -> None:
    demo = full_demo
    models = InsightModels(demo.db, demo.clock)
    with pytest.raises(InsufficientData, match="granted personalisation"):
        models.lifetime_value("market")  # nobody consented yet
    refused = CliRunner().invoke(cli, ["--database-url", database_url, "insight", "clv", "--program", "market"])
    assert refused.exit_code == 2 and "granted personalisation" in refused.output and "Traceback" not in refused.output
    with demo.db.read() as conn:
        everyone = sorted({member for member, _, _ in purchases(conn, "market")})
    for member in everyone:
        demo.consents.change("market", member, {"personalisation": True}, "api")
    answer = models.lifetime_value("market")
    assert answer["members"] == len(everyone) and answer["left_out_without_consent"] == 0
    assert all(v["standard_error"] > 0 for v in answer["bgnbd"].values())
    assert answer["clv"]["mean_minor"] > 0
    assert all(isinstance(v, int) and v >= 0 for v in answer["members_clv_minor"].values())
    runner = CliRunner()
    shown = runner.invoke(cli, ["--database-url", database_url, "insight", "clv", "--program", "market"],
                          env={"COLUMNS": "160"})
    assert shown.exit_code == 0, shown.output
    # The command runs on the real clock, months after the demo's fixed one: the same members,
    # their CLV as of today.
    assert "BG/NBD" in shown.output and f"{answer['members']} members (left out without consent: 0)" in shown.output
    assert "CLV over 12 periods of 30 days at 1.00% a period: mean " in shown.output
    churned = runner.invoke(cli, ["--database-url", database_url, "insight", "churn", "--program", "market",
                                  "--horizon", "60", "--json"])
    # The 300-member demo may be too small for the split: then the answer is a reason, not a traceback.
    assert churned.exit_code in (0, 2) and "Traceback" not in churned.output
    if churned.exit_code == 0:
        assert '"classifier"' in churned.output
    else:
        assert "at least 50 members" in churned.output or "nothing to tell apart" in churned.output
