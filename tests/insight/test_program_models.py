"""The models on a program's own ledger (the demo), on both engines: only members who
granted personalisation are read."""

from __future__ import annotations

import pytest

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
def test_lifetime_value_of_the_demo_or_a_reason(full_demo: Services) -> None:
    demo = full_demo
    models = InsightModels(demo.db, demo.clock)
    with pytest.raises(InsufficientData, match="granted personalisation"):
        models.lifetime_value("market")  # nobody consented yet
    with demo.db.read() as conn:
        everyone = sorted({member for member, _, _ in purchases(conn, "market")})
    for member in everyone:
        demo.consents.change("market", member, {"personalisation": True}, "api")
    answer = models.lifetime_value("market")
    assert answer["members"] == len(everyone) and answer["left_out_without_consent"] == 0
    assert all(v["standard_error"] > 0 for v in answer["bgnbd"].values())
    assert answer["clv"]["mean_minor"] > 0
    assert all(isinstance(v, int) and v >= 0 for v in answer["members_clv_minor"].values())
