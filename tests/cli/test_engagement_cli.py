"""`dangol birthdays` and `dangol leaderboard`, on both databases."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from dangol.cli import engagement as cli_engagement
from dangol.domain import commands as cmd
from dangol.service.container import Services

from .helpers import dangol, one_error_line


def member(services: Services, ref: str, profile: dict[str, Any], points: int = 0, at: datetime | None = None) -> str:
    member_id: str = services.ledger.run("market", cmd.Enroll(ref))["member"]["id"]
    services.profiles.update("market", member_id, profile)
    if points:
        services.ledger.run("market", cmd.Earn(member_id, points=points), at=at)
    return member_id


def test_the_leaderboard_command(live: Services, database_url: str) -> None:
    last_month = datetime.now(timezone.utc).replace(day=1) - timedelta(days=3)
    month = f"{last_month.year}-{last_month.month:02d}"
    member(live, "a", {"display_name": "Jiwoo", "leaderboard_opt_in": True}, 1_500, last_month)
    member(live, "b", {"display_name": "Minseo", "leaderboard_opt_in": True}, 2_500, last_month)
    member(live, "c", {"display_name": "Hidden", "leaderboard_opt_in": False}, 9_000, last_month)
    result = dangol(database_url, "leaderboard", "--month", month)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "Jiwoo" in line or "Minseo" in line]
    assert "Minseo" in lines[0] and "2,500" in lines[0] and "Jiwoo" in lines[1] and "1,500" in lines[1]
    assert "Hidden" not in result.stdout and "9,000" not in result.stdout
    assert "nobody who opted in" in dangol(database_url, "leaderboard", "--month", "1999-01").stdout
    assert "month must be YYYY-MM" in one_error_line(dangol(database_url, "leaderboard", "--month", "March"))


def test_the_birthdays_command(live: Services, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    today = datetime.now(timezone.utc).date()
    tomorrow = today + timedelta(days=1)
    born = member(live, "born", {"birthday_month": today.month, "birthday_day": today.day, "time_zone": "UTC"})
    other = member(live, "other", {"birthday_month": tomorrow.month, "birthday_day": tomorrow.day,
                                   "time_zone": "UTC"})
    yesterday = today - timedelta(days=1)
    late = member(live, "late", {"birthday_month": yesterday.month, "birthday_day": yesterday.day,
                                 "time_zone": "UTC"})
    document = {"program": "market", "version": "birthdays", "currency": "KRW",
                "effective_from": datetime.now(timezone.utc).isoformat(),
                "rules": [{"id": "birthday-bonus", "on": "birthday", "actions": [{"award_points": {"fixed": 700}}]}]}
    live.rulesets.publish("market", json.dumps(document))
    # The events service records each birthday and its rules pay the bonus; a second run the
    # same day changes nothing (one birthday event per member per year).
    for sent_now in ("1 birthday event sent", "0 birthday events sent"):
        result = dangol(database_url, "birthdays")
        assert result.exit_code == 0, result.output
        assert f"{sent_now} (3 members with a birthday checked)" in result.stdout
        assert live.reader.balance("market", born)["available"] == 700
        assert live.reader.balance("market", other)["available"] == 0
    # What is sent for a missed day: an events API body at the member's local midnight.
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(cli_engagement, "event_sender", lambda services: lambda p, body: sent.append((p, body)))
    result = dangol(database_url, "birthdays", "--date", yesterday.isoformat())
    assert result.exit_code == 0, result.output
    assert sent == [("market", {"event_id": f"birthday-{yesterday.year}-{late}", "type": "birthday",
                                "member_id": late, "occurred_at": f"{yesterday.isoformat()}T00:00:00Z"})]
    assert "--date must be a date" in one_error_line(dangol(database_url, "birthdays", "--date", "17 May"))
