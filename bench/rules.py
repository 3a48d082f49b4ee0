"""Benchmark: the rules core (dangol.rules), evaluations per second on one core.

    .venv/bin/python -m bench.rules            # 5 runs of each, medians
    .venv/bin/python -m bench.rules --quick    # smoke test, a second or two

Two rulesets: the example program (src/dangol/rules/examples/market.yaml, 7 rules and a
tiers: ladder whose bonus applies as rule tier:<name>) and a
generated one of `--rules` rules (default 200; seeded: conditions on amount, tier,
categories, weekday, hour and monthly purchases; rates, fixed points, caps, exclusive
groups, multipliers). Inputs: `--inputs` pre-built (event, member, now) triples, mostly
purchases, cycled. dangol runs the whole `evaluate` (conditions, points, caps, counters,
the Evaluation value). The peer, `rule-engine` (PyPI), evaluates only the same conditions
of the same applicable rules on the same inputs (rule.matches on a flat dict built per
input), so it does strictly less work; the ratio is dangol evaluations / peer evaluations.
"""

from __future__ import annotations

import argparse
import ast
import random
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from dangol.rules import Event, MemberState, Ruleset, build_ruleset, evaluate
from dangol.rules.facts import BUILTIN_EVENT_TYPES, Moment
from dangol.rules.loader import load_example

from .common import fmt_rate, fmt_runs, machine_info, median, print_machine, save_results, verdict

TARGET_RATE = 100_000  # evaluations/s of the example ruleset, issue 3
TIERS = (None, "새싹", "열매", "나무", "숲")
CATEGORIES = ("design", "music", "code", "video", "writing", "photo")
ZONES = ("Asia/Seoul", "UTC", "America/New_York")


def generated_ruleset(count: int, seed: int) -> Ruleset:
    rnd = random.Random(seed)
    conditions = [
        lambda: f"event.amount >= {rnd.randrange(1, 100) * 1000}",
        lambda: f"member.tier == {rnd.choice(TIERS[1:])!r}",
        lambda: f"{rnd.choice(CATEGORIES)!r} in event.categories",
        lambda: "event.weekday in (5, 6)",
        lambda: f"now.hour >= {rnd.randrange(0, 24)} and now.hour < {rnd.randrange(0, 24)}",
        lambda: f"member.purchases_this_month >= {rnd.randrange(1, 6)} and event.amount > {rnd.randrange(1, 50) * 1000}",
        lambda: f"not member.first_purchase and {rnd.choice(CATEGORIES)!r} not in event.categories",
        lambda: f"member.tier != None and member.purchases_total >= {rnd.randrange(0, 30)}",
    ]
    rules: list[dict[str, Any]] = []
    for index in range(count):
        rule: dict[str, Any] = {"id": f"rule-{index:03d}", "on": "purchase" if rnd.random() < 0.8 else
                                rnd.choice(["signup", "review", "social_share"]), "priority": rnd.randrange(0, 100)}
        if rnd.random() < 0.9:
            rule["when"] = rnd.choice(conditions)()
        kind = rnd.random()
        if kind < 0.05:
            rule["actions"] = [{"award_points": {"multiplier": rnd.choice([2, 3])}}]
        elif kind < 0.55:
            rule["actions"] = [{"award_points": {"rate": {"points": rnd.randrange(1, 6), "per": 100}}}]
        else:
            rule["actions"] = [{"award_points": {"fixed": rnd.randrange(1, 50) * 10}}]
        if rnd.random() < 0.3:
            rule["caps"] = [{"per": rnd.choice(["event", "day", "month"]), "points": rnd.randrange(100, 5000)}]
        if rnd.random() < 0.2:
            rule["group"], rule["exclusive"] = f"g{rnd.randrange(5)}", True
        rules.append(rule)
    return build_ruleset({"program": "bench", "version": "generated", "effective_from": "2025-01-01T00:00:00Z",
                          "currency": "KRW", "rules": rules})


def inputs(count: int, seed: int) -> list[tuple[Event, MemberState, datetime]]:
    rnd = random.Random(seed)
    start = datetime(2025, 3, 1, tzinfo=timezone.utc)
    result = []
    for index in range(count):
        kind = "purchase" if rnd.random() < 0.85 else rnd.choice(["signup", "review"])
        event = Event(kind, rnd.randrange(1_000, 300_000) if kind == "purchase" else 0, "KRW", f"o{index}",
                      tuple(rnd.sample(CATEGORIES, rnd.randrange(0, 3))),
                      referrer=f"m{rnd.randrange(1000)}" if rnd.random() < 0.1 else None)
        member = MemberState(f"m{rnd.randrange(1000)}", start - timedelta(days=rnd.randrange(400)), rnd.choice(ZONES),
                             rnd.choice(TIERS), purchases_this_month=rnd.randrange(6),
                             purchases_total=rnd.randrange(40), first_purchase=rnd.random() < 0.1)
        result.append((event, member, start + timedelta(minutes=rnd.randrange(60 * 24 * 30))))
    return result


def run_ours(ruleset: Ruleset, data: Sequence[tuple[Event, MemberState, datetime]], count: int) -> float:
    counters: dict[str, int] = {}
    n = len(data)
    start = time.perf_counter()
    for i in range(count):
        event, member, now = data[i % n]
        evaluate(ruleset, event, member, counters, now)
    return count / (time.perf_counter() - start)


# ---------------------------------------------------------------- the peer

def to_rule_engine(source: str) -> str:
    """Our canonical expression text in rule-engine's syntax: root.field -> root_field,
    None/True/False -> null/true/false, tuples -> arrays. Only what the benchmark's rules use."""
    def text(node: ast.AST) -> str:
        if isinstance(node, ast.BoolOp):
            joiner = " and " if isinstance(node.op, ast.And) else " or "
            return "(" + joiner.join(text(v) for v in node.values) + ")"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return f"not ({text(node.operand)})"
        if isinstance(node, ast.Compare):
            symbols = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
                       ast.In: "in"}
            parts = [text(node.left)]
            for op, right in zip(node.ops, node.comparators):
                if isinstance(op, ast.NotIn):
                    return f"not ({text(node.left)} in {text(right)})"
                parts += [symbols[type(op)], text(right)]
            return " ".join(parts)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return f"{node.value.id}_{node.attr}"
        if isinstance(node, ast.Constant):
            if node.value is None or isinstance(node.value, bool):
                return {None: "null", True: "true", False: "false"}[node.value]
            return repr(node.value).replace("'", '"')
        if isinstance(node, (ast.Tuple, ast.List)):
            return "[" + ", ".join(text(e) for e in node.elts) + "]"
        raise ValueError(f"no rule-engine translation for {ast.unparse(node)}")
    return text(ast.parse(source, mode="eval").body)


def peer_rules(ruleset: Ruleset) -> dict[str, list[Any]]:
    import rule_engine
    context = rule_engine.Context(resolver=rule_engine.resolve_item)
    compiled: dict[str, list[Any]] = {}
    for kind in BUILTIN_EVENT_TYPES:
        base, multipliers = ruleset.phases(kind)
        compiled[kind] = [rule_engine.Rule(to_rule_engine(r.when.source), context=context)
                          for r in (*base, *multipliers) if r.when is not None]
    return compiled


def flat(event: Event, member: MemberState, now: datetime) -> dict[str, object]:
    moment = Moment.of(now, member.time_zone)
    return {"event_amount": event.amount, "event_categories": event.categories, "event_referrer": event.referrer,
            "event_order_id": event.order_id, "event_weekday": moment.weekday, "member_id": member.member_id,
            "member_tier": member.tier, "member_purchases_this_month": member.purchases_this_month,
            "member_purchases_total": member.purchases_total, "member_first_purchase": member.first_purchase,
            "now_hour": moment.hour, "now_weekday": moment.weekday}


def run_peer(compiled: dict[str, list[Any]], data: Sequence[tuple[Event, MemberState, datetime]], count: int) -> float:
    n = len(data)
    start = time.perf_counter()
    for i in range(count):
        event, member, now = data[i % n]
        thing = flat(event, member, now)
        for rule in compiled[event.type]:
            rule.matches(thing)
    return count / (time.perf_counter() - start)


def agree(ruleset: Ruleset, compiled: dict[str, list[Any]], data: Sequence[tuple[Event, MemberState, datetime]]) -> None:
    """Both sides must compute the same conditions, or the comparison means nothing."""
    from dangol.rules.facts import Facts, ProgramFacts
    for event, member, now in data[:300]:
        facts = Facts(event, member, Moment.of(now, member.time_zone), ProgramFacts(ruleset.program, ruleset.currency))
        base, multipliers = ruleset.phases(event.type)
        ours = [bool(r.when.evaluate(facts)) for r in (*base, *multipliers) if r.when is not None]
        theirs = [rule.matches(flat(event, member, now)) for rule in compiled[event.type]]
        if ours != theirs:
            raise SystemExit(f"dangol and rule-engine disagree on {event} {member}: {ours} vs {theirs}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rules", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=200, help="rules in the generated ruleset")
    parser.add_argument("--inputs", type=int, default=2_000, help="distinct (event, member, now) inputs, cycled")
    parser.add_argument("--evaluations", type=int, default=None, help="dangol evaluations per run (default 50,000)")
    parser.add_argument("--peer-evaluations", type=int, default=None, help="rule-engine evaluations per run "
                        "(default 3,000; it is much slower)")
    parser.add_argument("--repeat", type=int, default=None, help="runs; medians are quoted (default 5)")
    parser.add_argument("--quick", action="store_true", help="small runs, 1 repeat")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the results as JSON to this path")
    args = parser.parse_args(argv)
    evaluations = args.evaluations or (5_000 if args.quick else 50_000)
    peer_evaluations = args.peer_evaluations or (300 if args.quick else 3_000)
    repeat = args.repeat or (1 if args.quick else 5)

    info = machine_info()
    print_machine(info)
    data = inputs(args.inputs, args.seed)
    rulesets = {"example (market.yaml)": load_example(), f"generated ({args.rules} rules)": generated_ruleset(args.rules, args.seed)}
    print(f"{args.inputs:,} inputs (85% purchases); per run: dangol {evaluations:,} evaluations, "
          f"rule-engine {peer_evaluations:,}; {repeat} runs; one core (single thread)")
    results: dict[str, Any] = {"machine": info, "rulesets": {}}
    for name, ruleset in rulesets.items():
        compiled = peer_rules(ruleset)
        agree(ruleset, compiled, data)
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(repeat):
            ours.append(run_ours(ruleset, data, evaluations))
            theirs.append(run_peer(compiled, data, peer_evaluations))
        rate, peer = median(ours), median(theirs)
        print(f"\n{name}: {len(ruleset.rules)} rules")
        print(f"  dangol evaluate      : {fmt_rate(rate)} evaluations/s (median; runs {fmt_runs(ours)})")
        print(f"  rule-engine (conds)  : {fmt_rate(peer)} evaluations/s (median; runs {fmt_runs(theirs)})")
        print(f"  ratio                : {rate / peer:.1f}x rule-engine")
        results["rulesets"][name] = {"rules": len(ruleset.rules), "dangol_per_s": ours, "rule_engine_per_s": theirs,
                                     "median_dangol_per_s": rate, "median_rule_engine_per_s": peer}
    example = results["rulesets"]["example (market.yaml)"]
    print(f"\ntarget: >= {TARGET_RATE:,} evaluations/s on the example ruleset and faster than rule-engine: "
          f"{verdict(example['median_dangol_per_s'] >= TARGET_RATE and all(r['median_dangol_per_s'] > r['median_rule_engine_per_s'] for r in results['rulesets'].values()))}")
    save_results(f"rules{'-quick' if args.quick else ''}", results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
