"""`dangol birthdays` and `dangol leaderboard`, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from dangol.cli import engagement as cli_engagement
from dangol.domain import commands as cmd
from dangol.engagement import Profile
from dangol.service.container import Services

from .helpers import dangol, one_error_line


def member(services: Services, ref: str, profile: dict[str, Any], points: int = 0, at: datetime | None = None) -> str:
    member_id: str = services.ledger.run("market", cmd.Enroll(ref))["member"]["id"]
    services.engagement.save_profile("market", Profile(member_id, **profile))
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
    born = member(live, "born", {"birthday_month": 5, "birthday_day": 17})
    member(live, "other", {"birthday_month": 5, "birthday_day": 18})
    sent: list[tuple[str, dict[str, Any]]] = []
    # Without the events service (not in this build) the command says so in one line.
    assert "no events service" in one_error_line(dangol(database_url, "birthdays", "--date", "2025-05-17"))
    monkeypatch.setattr(cli_engagement, "event_sender", lambda services: lambda p, body: sent.append((p, body)))
    result = dangol(database_url, "birthdays", "--date", "2025-05-17")
    assert result.exit_code == 0, result.output
    assert "1 birthday event sent (2 members with a birthday checked)" in result.stdout
    assert sent == [("market", {"event_id": f"birthday-2025-{born}", "type": "birthday", "member_id": born,
                                "occurred_at": "2025-05-17T00:00:00Z"})]
    assert "--date must be a date" in one_error_line(dangol(database_url, "birthdays", "--date", "17 May"))
