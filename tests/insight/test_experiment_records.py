"""Experiments on a program's ledger, on both engines: the design, exposures recorded once
with the variant the hash assigns, and the report with its sample-ratio check; over HTTP."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from dangol.api import create_app
from dangol.domain import Money
from dangol.domain.clock import FixedClock
from dangol.domain.commands import Earn, Enroll
from dangol.domain.errors import Conflict, UnknownMember
from dangol.insight.assignment import Variant, assign
from dangol.insight.errors import InsufficientData, UnknownExperiment
from dangol.service.container import Services
from dangol.service.insight.experiments import Experiments
from dangol.service.programs import Scope
from dangol.storage import tables as t

DESIGN = [("control", 1), ("double", 1)]


@pytest.fixture
def exposed(services: Services, program_id: str, clock: FixedClock) -> list[tuple[str, str]]:
    """200 members exposed to `launch`; each buys once the week before and twice in the
    week after, the `double` variant's members for 30 % more."""
    experiments = Experiments(services.db, clock)
    experiments.create(program_id, "launch", DESIGN)
    rnd = random.Random(5)
    members = []
    for i in range(200):
        member = services.ledger.run(program_id, Enroll(f"c{i}"))["member"]["id"]
        base = rnd.randrange(10, 60) * 1_000
        services.ledger.run(program_id, Earn(member, money=Money(base, "KRW"), order_ref=f"pre-{i}"))
        members.append((member, base))
    clock.advance(days=3)
    shown = []
    for member, base in members:
        variant = experiments.expose(program_id, "launch", member)["variant"]
        shown.append((member, variant))
    clock.advance(days=2)
    for (member, base), (_, variant) in zip(members, shown, strict=True):
        amount = int(base * (1.3 if variant == "double" else 1.0)) // 10 * 10
        services.ledger.run(program_id, Earn(member, money=Money(amount, "KRW"), order_ref=f"post-{member}"))
        services.ledger.run(program_id, Earn(member, money=Money(amount + 5_000, "KRW"), order_ref=f"post2-{member}"))
    clock.advance(days=10)
    return shown


def test_exposures_are_the_hash_assignment_recorded_once(services: Services, program_id: str, clock: FixedClock,
                                                          exposed: list[tuple[str, str]]) -> None:
    experiments = Experiments(services.db, clock)
    variants = [Variant(n, w) for n, w in DESIGN]
    assert all(variant == assign("launch", member, variants) for member, variant in exposed)
    first = experiments.expose(program_id, "launch", exposed[0][0])
    clock.advance(days=1)
    assert experiments.expose(program_id, "launch", exposed[0][0]) == first  # the first exposure stands
    assert experiments.create(program_id, "launch", DESIGN)["variants"][1] == {"name": "double", "weight": 1}
    with pytest.raises(Conflict):
        experiments.create(program_id, "launch", [("control", 1), ("double", 2)])
    with pytest.raises(UnknownExperiment):
        experiments.expose(program_id, "nope", exposed[0][0])
    with pytest.raises(UnknownMember):
        experiments.expose(program_id, "launch", "m_nobody")


def test_the_report_finds_the_effect_and_withholds_it_on_a_sample_ratio_mismatch(
        services: Services, program_id: str, clock: FixedClock, exposed: list[tuple[str, str]]) -> None:
    experiments = Experiments(services.db, clock)
    found = experiments.report(program_id, "launch", days=7)
    assert not found["sample_ratio"]["mismatch"] and sum(found["sample_ratio"]["observed"].values()) == 200
    [effect] = found["effects"]
    assert effect["variant"] == "double" and effect["confidence_interval"][0] > 0
    assert effect["cuped"] and effect["variance_reduction"] > 0.5  # last week's spend predicts this week's
    # Exposure records of 60 `double` members lost: the split no longer matches the design.
    lost = [member for member, variant in exposed if variant == "double"][:60]
    with services.db.write() as conn:
        conn.execute(delete(t.experiment_exposures).where(t.experiment_exposures.c.member_id.in_(lost)))
    broken = experiments.report(program_id, "launch", days=7)
    assert broken["sample_ratio"]["mismatch"] and broken["effects"] is None
    assert "sample-ratio mismatch" in broken["withheld_because"]


def test_an_experiment_nobody_saw_is_refused_with_a_reason(services: Services, program_id: str) -> None:
    experiments = Experiments(services.db, services.clock)
    experiments.create(program_id, "empty", DESIGN)
    with pytest.raises(InsufficientData, match="at least 2 members"):
        experiments.report(program_id, "empty")


def test_experiments_over_http(services: Services, program_id: str) -> None:
    token = services.programs.create_api_key(program_id, {Scope.READ, Scope.WRITE}, "experiments")[1]
    member = services.ledger.run(program_id, Enroll("http-1"))["member"]["id"]
    with TestClient(create_app(services)) as client:
        def post(path: str, body: object, key: str) -> object:
            return client.post(f"/v1/programs/{program_id}{path}", json=body,
                               headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})
        design = {"experiment_id": "banner", "variants": [{"name": "control", "weight": 1}, {"name": "red", "weight": 1}]}
        created = post("/insight/experiments", design, "k1")
        assert created.status_code == 200, created.text  # type: ignore[attr-defined]
        seen = post("/insight/experiments/banner/exposures", {"member_id": member}, "k2")
        assert seen.json()["variant"] == assign("banner", member, [Variant("control", 1), Variant("red", 1)])  # type: ignore[attr-defined]
        again = post("/insight/experiments/banner/exposures", {"member_id": member}, "k2")
        assert again.json() == seen.json()  # type: ignore[attr-defined]
        other = post("/insight/experiments", {**design, "experiment_id": "other"}, "k1")
        assert other.status_code == 409  # type: ignore[attr-defined]
        report = client.get(f"/v1/programs/{program_id}/insight/experiments/banner/report",
                            headers={"Authorization": f"Bearer {token}"})
        assert report.status_code == 422 and "at least 2 members" in report.json()["detail"]
        missing = client.get(f"/v1/programs/{program_id}/insight/experiments/nope/report",
                             headers={"Authorization": f"Bearer {token}"})
        assert missing.status_code == 404 and missing.json()["type"].endswith("unknown-experiment")
