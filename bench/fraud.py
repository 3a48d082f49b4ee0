"""Fraud detection measured on a seeded synthetic population: genuine members with
ordinary habits, and three injected patterns, each caught by its own detector:

- point farming: accounts on a handful of shared devices, many small earns an hour
  (velocity rule: earns per device per hour, hold);
- referral rings: members sharing a device or card referring one another
  (union-find rings over device/payment fingerprints, hold);
- account-takeover bursts: a genuine member whose account suddenly redeems many
  times within an hour at night (velocity: redemptions per member per hour, refuse;
  and the isolation forest's score, trained only on consenting members).

Precision and recall per pattern: of the members a detector marks, how many carry its
pattern; of those who carry it, how many it marks. Runs the pure core (dangol.fraud),
the same functions the events' screening and `dangol fraud score` call.

    .venv/bin/python -m bench.fraud [--members 5000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any

from dangol.fraud import Action, FraudPolicy, Kind, Measure, Per, RingRule, Signal, VelocityRule, find_rings
from dangol.fraud import velocity_findings
from dangol.fraud.anomaly import anomaly_scores
from dangol.fraud.features import Activity, MemberActivity, features

START = datetime(2025, 3, 1, tzinfo=timezone.utc)
DAYS = 60
POLICY = FraudPolicy((
    VelocityRule("device-farm", Kind.EARN, Per.DEVICE, Measure.COUNT, 12, 3_600, Action.HOLD),
    VelocityRule("takeover", Kind.REDEMPTION, Per.MEMBER, Measure.COUNT, 3, 3_600, Action.REFUSE),
), RingRule(("device", "payment"), 3, Action.HOLD))


def population(members: int, seed: int) -> tuple[list[Signal], list[tuple[str, str]], dict[str, str], dict[str, Any]]:
    """(signals in time order, fingerprint links, member -> pattern or "", members' enrolment and consent)."""
    rng = random.Random(seed)
    signals: list[Signal] = []
    links: list[tuple[str, str]] = []
    truth: dict[str, str] = {}
    enrolled: dict[str, datetime] = {}
    consenting: set[str] = set()

    def at(day: float) -> datetime:
        return START + timedelta(days=day)

    for i in range(members):
        m = f"g{i}"
        truth[m] = ""
        enrolled[m] = at(rng.uniform(-300, 0))
        if rng.random() < 0.7:
            consenting.add(m)
        device, card = f"dev-{m}", f"card-{m}"
        if rng.random() < 0.08:  # households share a tablet: a genuine, innocent link
            device = f"dev-house-{i // 2}"
        links += [(m, f"device:{device}"), (m, f"payment:{card}")]
        habit = rng.uniform(8, 21)  # the hour of day they usually shop
        for _ in range(rng.randint(2, 25)):
            moment = at(rng.uniform(0, DAYS)).replace(hour=int(min(23, max(0, rng.gauss(habit, 2)))))
            signals.append(Signal(moment, m, Kind.EARN, rng.randint(50, 3_000), {Per.DEVICE: device}))
        for _ in range(rng.randint(0, 3)):
            signals.append(Signal(at(rng.uniform(0, DAYS)), m, Kind.REDEMPTION, rng.choice((1_000, 2_000, 5_000))))
    farms = max(1, members // 500)
    for f in range(farms):  # point farming: 8 accounts per device, bursts of tiny earns
        device = f"dev-farm-{f}"
        for j in range(8):
            m = f"farm{f}-{j}"
            truth[m], enrolled[m] = "point farming", at(rng.uniform(0, 5))
            links.append((m, f"device:{device}"))
        for day in rng.sample(range(5, DAYS), 6):
            base = at(day) + timedelta(hours=rng.randint(0, 20))
            for k in range(40):
                signals.append(Signal(base + timedelta(seconds=60 * k + rng.randint(0, 50)), f"farm{f}-{rng.randrange(8)}",
                                      Kind.EARN, rng.randint(10, 60), {Per.DEVICE: device}))
    for r in range(max(1, members // 400)):  # referral rings: 4 to 7 members, one card or phone between them
        size = rng.randint(4, 7)
        shared = f"payment:ring-card-{r}" if r % 2 else f"device:ring-phone-{r}"
        for j in range(size):
            m = f"ring{r}-{j}"
            truth[m], enrolled[m] = "referral ring", at(rng.uniform(0, DAYS))
            links += [(m, shared), (m, f"device:dev-{m}")]
            signals.append(Signal(enrolled[m], m, Kind.REFERRAL))
            signals.append(Signal(enrolled[m] + timedelta(hours=2), m, Kind.EARN, 1_000))
    victims = rng.sample([m for m in truth if truth[m] == ""], max(1, members // 200))
    for m in victims:  # account takeover: a genuine member's points drained at 3 a.m.
        truth[m] = "account takeover"
        start = at(rng.uniform(30, DAYS)).replace(hour=3)
        for k in range(rng.randint(5, 9)):
            signals.append(Signal(start + timedelta(minutes=4 * k), m, Kind.REDEMPTION, 1_000))
    signals.sort(key=lambda s: (s.at, s.member_id))
    return signals, links, truth, {"enrolled": enrolled, "consenting": consenting}


def detect(signals: list[Signal], links: list[tuple[str, str]], extra: dict[str, Any]) -> dict[str, set[str]]:
    """The members each detector marks."""
    marked: dict[str, set[str]] = {"device-farm": set(), "takeover": set(), "rings": set(), "anomaly": set()}
    recent: dict[tuple[str, str], list[Signal]] = {}
    for signal in signals:  # velocity: each signal against its key's last hour, as screening reads it
        for rule in POLICY.rules_for(signal.kind):
            key = (rule.id, signal.key(rule.per) or "")
            window = [s for s in recent.get(key, []) if (signal.at - s.at).total_seconds() < rule.window_seconds]
            if velocity_findings([rule], signal, window):
                marked[rule.id].add(signal.member_id)
            recent[key] = window + [signal]
    assert POLICY.rings is not None
    referred = {s.member_id for s in signals if s.kind is Kind.REFERRAL}
    rings = find_rings(links, POLICY.rings.min_members)
    marked["rings"] = {m for m in referred if m in rings and len(rings[m] & referred) >= POLICY.rings.min_members}
    now = START + timedelta(days=DAYS)
    kinds = {Kind.EARN: "earn", Kind.REDEMPTION: "redemption", Kind.REFERRAL: "referral", Kind.GIFT: "gift"}
    activity: dict[str, list[Activity]] = {}
    for s in signals:
        activity.setdefault(s.member_id, []).append(Activity(s.at, kinds[s.kind], s.points))
    vectors = {m: features(MemberActivity(m, extra["enrolled"][m], tuple(a)), now) for m, a in activity.items()}
    scores = anomaly_scores(vectors, extra["consenting"], seed=0)
    cut = sorted(scores.values(), reverse=True)[max(1, len(scores) // 100) - 1]  # the top 1%
    marked["anomaly"] = {m for m, s in scores.items() if s >= cut}
    return marked


DETECTORS = {"point farming": ("device-farm",), "referral ring": ("rings",), "account takeover": ("takeover",),
             "account takeover (anomaly score, top 1%)": ("anomaly",)}


def measure(members: int = 5_000, seed: int = 7) -> dict[str, dict[str, float]]:
    signals, links, truth, extra = population(members, seed)
    marked = detect(signals, links, extra)
    report = {}
    for label, detectors in DETECTORS.items():
        pattern = label.split(" (")[0]
        flagged = set().union(*(marked[d] for d in detectors))
        actual = {m for m, p in truth.items() if p == pattern}
        hits = len(flagged & actual)
        report[label] = {"members": len(actual), "flagged": len(flagged),
                         "precision": round(hits / len(flagged), 3) if flagged else 0.0,
                         "recall": round(hits / len(actual), 3) if actual else 0.0}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(measure(args.members, args.seed), indent=2))


if __name__ == "__main__":
    main()
