"""GET /v1/log/report: the server's report of a program is, figure for figure, the one an
auditor recomputes from the log's entries, on both databases; and it follows the log as
it grows."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dangol.api import create_app
from dangol.domain import FixedClock
from dangol.domain.commands import Earn, Enroll
from dangol.service.container import Services
from dangol.transparency.audit import audit
from dangol.transparency.entry import Entry
from dangol.transparency.report import program_report

from .records import records
from .support import PROGRAM, every_kind


def recomputed(services: Services) -> dict:  # type: ignore[type-arg]
    """What an auditor computes: every entry up to the checkpoint, audited, then the report."""
    from dangol.transparency import VerifierKey, open_checkpoint

    checkpoint = open_checkpoint(services.log.checkpoint_note(), VerifierKey.parse(services.log.verifier_key()))
    size = checkpoint.checkpoint.size
    entries: list[Entry] = []
    audit(records(services, size), checkpoint.checkpoint, visit=entries.append)
    return program_report(entries, PROGRAM, size).to_json()


def test_the_servers_report_is_the_auditors(services: Services, clock: FixedClock) -> None:
    every_kind(services, clock)
    services.log.integrate()
    services.log.sign()
    with TestClient(create_app(services)) as client:
        served = client.get("/v1/log/report", params={"program": PROGRAM, "period": "month"})
        assert served.status_code == 200, served.text
        body = served.json()
        assert body.pop("root_hash")
        assert body == recomputed(services)
        assert body["total"]["issued"] > 0 and body["total"]["outstanding"] > 0
        # The log grows: the report follows the next checkpoint, and only it.
        member = services.ledger.run(PROGRAM, Enroll("dave"))["member"]["id"]
        services.ledger.run(PROGRAM, Earn(member, points=1234))
        assert client.get("/v1/log/report", params={"program": PROGRAM}).json()["total"] == body["total"]
        services.log.integrate()
        services.log.sign()
        grown = client.get("/v1/log/report", params={"program": PROGRAM}).json()
        assert grown["total"]["issued"] == body["total"]["issued"] + 1234
        assert grown["size"] > body["size"]
        grown.pop("root_hash")
        assert grown == recomputed(services)
        unknown = client.get("/v1/log/report", params={"program": "nope"})
        assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/problem+json")
        assert client.get("/v1/log/report", params={"program": PROGRAM, "period": "week"}).status_code == 422
