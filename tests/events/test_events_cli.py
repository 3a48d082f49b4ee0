"""`dangol events send FILE.jsonl` and `dangol quote`, on a ruleset published from the CLI."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fastapi.testclient import TestClient

from dangol.api import create_app
from dangol.service.container import Services
from dangol.service.programs import Scope

from cli.helpers import dangol

from .conftest import MARKET


def _setup(tmp_path: Path, url: str) -> None:
    assert dangol(url, "init").exit_code == 0
    assert dangol(url, "programs", "create", "market", "--name", "Market", "--currency", "KRW").exit_code == 0
    path = tmp_path / "market.yaml"
    path.write_text(MARKET, encoding="utf-8")
    now = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    assert dangol(url, "rules", "publish", str(path), "--effective-from", now).exit_code == 0


def test_send_a_file_of_events_then_quote(tmp_path: Path, database_url: str) -> None:
    _setup(tmp_path, database_url)
    events = [
        {"event_id": "s1", "type": "signup", "external_ref": "cust-1", "member_id": "m_cust1"},
        {"event_id": "p1", "type": "purchase", "member_id": "m_cust1", "order_id": "o1",
         "amount": {"amount": 30000, "currency": "KRW"}},
        {"event_id": "bad", "type": "purchase", "member_id": "m_cust1", "amount": {"amount": 1.5, "currency": "KRW"}},
        {"event_id": "v1", "type": "review", "member_id": "m_cust1", "order_id": "o1"},
    ]
    file = tmp_path / "events.jsonl"
    file.write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
    result = dangol(database_url, "events", "send", str(file))
    assert result.exit_code == 1  # one refused
    # 1,000 welcome + 1,500 (5% of 30,000) + 1,000 first purchase + 100 review.
    assert "3 recorded, 1 refused, 3,600 points awarded" in result.stdout
    assert result.stderr.startswith("refused: line 3: amount.amount:")
    again = dangol(database_url, "events", "send", str(file))  # the same ids and bodies: the same answers
    assert "3 recorded, 1 refused, 3,600 points awarded" in again.stdout
    balance = json.loads(dangol(database_url, "balance", "m_cust1", "--json").stdout)
    assert balance["balance"]["available"] == 3600
    quote = dangol(database_url, "quote", "--member", "m_cust1", "--amount", "25000", "--order", "o2")
    assert quote.exit_code == 0, quote.output
    assert quote.stdout.split() [:2] == ["1,250", "base-earn"]
    as_json = json.loads(dangol(database_url, "quote", "--event", json.dumps(
        {"event_id": "q", "type": "purchase", "member_id": "m_cust1", "order_id": "o2",
         "amount": {"amount": 25000, "currency": "KRW"}}), "--json").stdout)
    assert as_json["recorded"] is False and as_json["total_points"] == 1250
    # One --category: the whole amount is that category's, so design-quarter counts it; with
    # two, neither item has an amount, and a category's spend counts nothing.
    def design(*categories: str) -> list[int]:
        quoted = json.loads(dangol(database_url, "quote", "--member", "m_cust1", "--amount", "25000", "--order",
                                   "o2", *[a for c in categories for a in ("--category", c)], "--json").stdout)
        return [c["progress"] for c in quoted["effects"]["challenges"] if c["challenge"] == "design-quarter"]
    assert design("design") == [25000] and design("design", "writing") == [] and design() == []
    assert json.loads(dangol(database_url, "balance", "m_cust1", "--json").stdout)["balance"]["available"] == 3600


def test_send_in_batches_reports_each_refusal_on_its_line(tmp_path: Path, database_url: str) -> None:
    """A batch holds good events and refused ones: each refusal is named by its line, the
    batch's other events are recorded (the refused one leaves nothing behind)."""
    _setup(tmp_path, database_url)
    events = [
        {"event_id": "s1", "type": "signup", "external_ref": "cust-1", "member_id": "m_cust1"},
        {"event_id": "p1", "type": "purchase", "member_id": "m_nobody", "order_id": "o1",
         "amount": {"amount": 30000, "currency": "KRW"}},
        {"event_id": "p2", "type": "purchase", "member_id": "m_cust1", "order_id": "o2",
         "amount": {"amount": 30000, "currency": "KRW"}},
        {"event_id": "r1", "type": "refund", "member_id": "m_cust1", "order_id": "o2",
         "amount": {"amount": 90000, "currency": "KRW"}},
        {"event_id": "v1", "type": "review", "member_id": "m_cust1", "order_id": "o2"},
    ]
    file = tmp_path / "events.jsonl"
    file.write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
    result = dangol(database_url, "events", "send", str(file), "--batch", "2")
    assert result.exit_code == 1
    # 1,000 welcome + 1,500 + 1,000 first purchase + 100 review; the refund exceeds the order.
    assert "3 recorded, 2 refused, 3,600 points awarded" in result.stdout
    assert result.stderr.splitlines()[0].startswith("refused: line 2: no member 'm_nobody'")
    assert result.stderr.splitlines()[1].startswith("refused: line 4: refund of 90000 exceeds")
    balance = json.loads(dangol(database_url, "balance", "m_cust1", "--json").stdout)
    assert balance["balance"]["available"] == 3600


def test_send_answers_every_line_in_its_place_as_the_batch_endpoint_does(tmp_path: Path, database_url: str) -> None:
    """`--json`: one answer per line, the refused ones too, in the shape of
    `POST …/events:batch`'s items; sending the same events over HTTP afterwards gets the
    very same answers (the events' ids are recorded: the stored results come back)."""
    _setup(tmp_path, database_url)
    events: list[object] = [
        {"event_id": "s1", "type": "signup", "external_ref": "cust-1", "member_id": "m_cust1"},
        {"event_id": "p1", "type": "purchase", "member_id": "m_cust1", "order_id": "o1",
         "amount": {"amount": 30000, "currency": "KRW"}},
        {"event_id": "p2", "type": "purchase", "member_id": "m_nobody", "order_id": "o2",
         "amount": {"amount": 30000, "currency": "KRW"}},
        {"event_id": "bad", "type": "purchase", "member_id": "m_cust1", "amount": {"amount": 1.5, "currency": "KRW"}},
    ]
    lines = [json.dumps(e) for e in events] + ["", "{not json"]
    file = tmp_path / "events.jsonl"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = dangol(database_url, "events", "send", str(file), "--json")
    assert result.exit_code == 1
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(a["line"], a["event_id"], a["status"]) for a in answers] == [
        (1, "s1", 200), (2, "p1", 200), (3, "p2", 404), (4, "bad", 422), (6, None, 422)]
    assert answers[2]["problem"]["type"] == "https://dangol.dev/problems/unknown-member"
    assert answers[3]["problem"]["errors"][0]["loc"] == ["amount", "amount"]
    assert answers[4]["problem"]["errors"][0]["type"] == "json_invalid"
    assert result.stderr.splitlines() == ["refused: line 3: no member 'm_nobody' in program market",
                                          "refused: line 4: amount.amount: Input should be a valid integer",
                                          f"refused: line 6: {answers[4]['problem']['detail']}"]
    services = Services.open(database_url, migrate=False)
    try:
        token = services.programs.create_api_key("market", {Scope.WRITE}, "pos")[1]
        with TestClient(create_app(services)) as client:
            response = client.post("/v1/programs/market/events:batch", json={"events": events},
                                   headers={"Authorization": f"Bearer {token}"})
    finally:
        services.db.dispose()
    over_http = response.json()["results"]
    for sent, again in zip(answers, over_http):
        assert again["status"] == sent["status"]
        if sent["status"] == 200:
            assert again["result"] == sent["result"]
        else:
            assert again["problem"]["type"] == sent["problem"]["type"]
