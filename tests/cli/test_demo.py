"""`dangol demo`: the example program with synthetic history, deterministic and idempotent."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from dangol.demo.generator import generate_events
from dangol.demo.totals import program_totals
from dangol.service.container import Services
from dangol.storage import tables as t
from importer.helpers import row_counts  # tests/importer, on the path as pytest runs tests

from .helpers import dangol, tokens

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def without_times(events: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in event.items() if k != "occurred_at"} for event in events]


def test_the_same_seed_gives_the_same_history_ending_at_now() -> None:
    events = generate_events(60, seed=5, now=NOW)
    assert generate_events(60, seed=5, now=NOW) == events
    later = generate_events(60, seed=5, now=NOW + timedelta(days=1, seconds=7))
    assert without_times(later) == without_times(events)
    shifted = [datetime.fromisoformat(str(e["occurred_at"])) - datetime.fromisoformat(str(l["occurred_at"]))
               for e, l in zip(events, later)]
    assert set(shifted) == {-timedelta(days=1, seconds=7)}
    assert without_times(generate_events(60, seed=6, now=NOW)) != without_times(events)


def test_the_history_follows_the_example_program() -> None:
    events = generate_events(300, seed=42, now=NOW)
    times = [datetime.fromisoformat(str(e["occurred_at"])) for e in events]
    assert times == sorted(times) and times[-1] <= NOW and times[0] >= NOW - timedelta(days=395)
    kinds = Counter(str(e["type"]) for e in events)
    # Business events for the rules; ledger events for what no rule decides.
    assert kinds["signup"] == 300
    assert {"purchase", "review", "referral", "refund", "birthday"} <= set(kinds)
    assert {"redeem", "hold", "capture", "void", "transfer", "adjust", "close"} <= set(kinds)
    assert not {"earn", "enroll", "reverse"} & set(kinds)  # every point earned is the rules'
    purchases = [e for e in events if e["type"] == "purchase"]
    assert {i["category"] for e in purchases for i in e["items"]} >= {"design", "translation"}  # type: ignore[attr-defined]
    amounts = [e["amount"]["amount"] for e in purchases]  # type: ignore[index]
    assert min(amounts) >= 10_000 and max(amounts) <= 300_000
    orders = {e["order_id"] for e in purchases}
    assert all(e["order_id"] in orders for e in events if e["type"] in ("review", "refund"))
    signed_up = {e["member_id"] for e in events if e["type"] == "signup"}
    assert all(e["referrer"] in signed_up and e["referrer"] != e["member_id"] for e in events
               if e["type"] == "referral")
    assert all(int(str(e["points"])) >= 1_000 for e in events if e["type"] in ("redeem", "hold"))
    # Without rules, the same history as import events only.
    ledger = Counter(str(e["type"]) for e in generate_events(300, seed=42, now=NOW, ledger_only=True))
    assert ledger["enroll"] == 300 and ledger["reverse"] == kinds["refund"] and not set(ledger) & {"signup", "purchase"}


def test_demo_loads_once_however_often_it_runs(database_url: str, tmp_path: Path) -> None:
    first = dangol(database_url, "demo", "--members", "30", "--seed", "3", "--save-events", str(tmp_path / "d.jsonl"))
    assert first.exit_code == 0, first.output
    assert "0 rejected" in first.stdout and "Program market (created)" in first.stdout
    assert len(tokens(first.stdout)) == 1  # the database was new: the demo made its admin key
    services = Services.open(database_url, migrate=False)
    counts = row_counts(services.db)
    assert counts["members"] == 30 and counts["transactions"] > 100
    assert (tmp_path / "d.jsonl").stat().st_size > 0

    second = dangol(database_url, "demo", "--members", "30", "--seed", "3")
    assert second.exit_code == 0, second.output
    assert " 0 applied," in second.stdout and tokens(second.stdout) == []
    assert row_counts(services.db) == counts
    assert services.check.run().ok
    totals = program_totals(services.db, "market")  # every point issued is somewhere, as docs/cli.md says
    assert totals.issued + totals.adjusted == totals.redeemed + totals.expired + totals.reversed + totals.outstanding
    assert min(totals.redeemed, totals.expired, totals.reversed, totals.outstanding) > 0
    # The rules, tiers and engagement earned the points, and replay finds every one of them.
    with services.db.read() as conn:
        rules = {str(r).split(":")[0] for r in conn.execute(select(t.postings.c.rule_id).distinct()).scalars() if r}
        coupons = conn.execute(select(func.count()).select_from(t.engagement_coupons)).scalar_one()
    # launch-week: the demo's history begins with the program's launch week, double points and all.
    assert {"welcome", "base-earn", "first-purchase", "review", "launch-week", "tier", "challenge"} <= rules
    assert coupons > 0
    replay = dangol(database_url, "replay", "--check")
    assert replay.exit_code == 0 and replay.stdout.startswith("OK: "), replay.output
    services.db.dispose()
