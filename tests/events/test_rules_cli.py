"""`dangol rules`: validate, hash, publish, show, as a user would run them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cli.helpers import dangol, one_error_line
from dangol.rules import ruleset_hash
from dangol.rules.loader import load_ruleset

from .conftest import MARKET


def test_validate_and_hash_a_file(tmp_path: Path) -> None:
    good = tmp_path / "market.yaml"
    good.write_text(MARKET, encoding="utf-8")
    result = dangol("sqlite:///unused.db", "rules", "validate", str(good))
    assert result.exit_code == 0, result.output
    assert "valid, 8 rules" in result.stdout
    digest = dangol("sqlite:///unused.db", "rules", "hash", str(good))
    assert digest.stdout.strip() == ruleset_hash(load_ruleset(MARKET))
    bad = tmp_path / "bad.yaml"
    bad.write_text(MARKET.replace("{points: 5, per: 100}", "{points: 5.5, per: 100}").replace("on: signup", "on: sinup"))
    result = dangol("sqlite:///unused.db", "rules", "validate", str(bad))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert any("line 14, rules[0].actions[0].award_points.rate.points" in line for line in lines), lines
    assert any("line 18, rules[1].on: unknown event type 'sinup'" in line for line in lines), lines
    assert lines[-1] == f"2 problem(s) in {bad}"


def test_publish_and_show(tmp_path: Path, database_url: str) -> None:
    assert dangol(database_url, "init").exit_code == 0
    assert dangol(database_url, "programs", "create", "market", "--name", "Market", "--currency", "KRW").exit_code == 0
    path = tmp_path / "market.yaml"
    path.write_text(MARKET, encoding="utf-8")
    # The document's own effective time (March 2025) is in the past now: refused in one line.
    assert "never retroactive" in one_error_line(dangol(database_url, "rules", "publish", str(path)))
    soon = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    in_two_days = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
    result = dangol(database_url, "rules", "publish", str(path), "--program", "market", "--effective-from", soon)
    assert result.exit_code == 0, result.output
    assert "Published ruleset #1 '2025-03 launch' of market" in result.stdout
    worse = tmp_path / "worse.yaml"
    worse.write_text(MARKET.replace("{points: 5, per: 100}", "{points: 4, per: 100}"), encoding="utf-8")
    line = one_error_line(dangol(database_url, "rules", "publish", str(worse),
                                 "--effective-from", in_two_days))
    assert line.startswith("error: this change worsens members' earning (base-earn: action 1: 5 per 100")
    urgent = dangol(database_url, "rules", "publish", str(worse), "--effective-from", in_two_days,
                    "--urgent", "--reason", "a pricing error")
    assert urgent.exit_code == 0, urgent.output
    assert "worse base-earn" in urgent.stdout
    shown = dangol(database_url, "rules", "show", "--program", "market")
    assert shown.exit_code == 0
    assert "upcoming" in shown.stdout
    history = json.loads(dangol(database_url, "rules", "show", "--json").stdout)
    assert [(i["number"], i["urgent"], i["urgent_reason"]) for i in history["items"]] == [
        (2, True, "a pricing error"), (1, False, None)]
