"""Random sequences of ledger operations, as plain steps that both the domain runner
(MemberLedgers in memory) and the service runner (a real database) turn into commands.

Amounts that spend points are often a share of what the member can spend right now, so
that redemptions, holds and transfers mostly succeed instead of all bouncing off an
empty balance; refunds pick an order the member really earned for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import strategies as st

from dangol.domain import EarnRate, MemberStatus, Money, ProgramPolicy, Rounding
from dangol.domain import commands as cmd

MEMBERS = 3
ORDERS = 3
CURRENCY = "KRW"
DAY = 86_400
UNKNOWN_HOLD = 987_654_321

_member = st.integers(0, MEMBERS - 1)
_order = st.integers(0, ORDERS - 1)
_maybe_order = st.one_of(st.none(), _order, _order)
_pending_days = st.one_of(st.none(), st.none(), st.integers(1, 40))
# ("share", percent) of the member's spendable points, or ("points", n) outright.
_spend = st.one_of(st.tuples(st.just("share"), st.integers(1, 100)),
                   st.tuples(st.just("share"), st.integers(1, 100)),
                   st.tuples(st.just("points"), st.integers(1, 3_000)))

earn_steps = st.one_of(
    st.tuples(st.just("earn"), _member, st.integers(1, 5_000), st.none(), _maybe_order, _pending_days),
    st.tuples(st.just("earn"), _member, st.none(), st.integers(0, 80_000), _maybe_order, _pending_days),
)
_rare = st.one_of(
    st.tuples(st.just("expire")),
    st.tuples(st.just("status"), _member, st.sampled_from(
        [MemberStatus.SUSPENDED, MemberStatus.ACTIVE, MemberStatus.ACTIVE, MemberStatus.CLOSED])),
)
steps = st.one_of(
    earn_steps, earn_steps,
    st.tuples(st.just("redeem"), _member, _spend),
    st.tuples(st.just("hold"), _member, _spend, st.sampled_from([None, 60, 3_600, 2 * DAY])),
    st.tuples(st.just("capture"), st.integers(0, 9), st.one_of(st.none(), _spend)),
    st.tuples(st.just("void"), st.integers(0, 9)),
    st.tuples(st.just("advance"), st.sampled_from([30, 3_600, DAY, 10 * DAY, 45 * DAY, 200 * DAY, 400 * DAY])),
    # refund: None (the whole rest), a percentage of the order, or an amount that may exceed it
    st.tuples(st.just("reverse"), st.integers(0, 9), st.one_of(
        st.none(), st.tuples(st.just("share"), st.integers(1, 100)),
        st.tuples(st.just("money"), st.integers(1, 40_000)))),
    st.tuples(st.just("adjust"), _member, st.integers(1, 2_000), st.booleans()),
    st.tuples(st.just("transfer"), _member, _member, _spend),
    _rare,
)

policies = st.builds(
    ProgramPolicy,
    lot_validity_days=st.sampled_from([30, 365]),
    min_redemption=st.sampled_from([1, 100, 1_000]),
    allow_negative_balance=st.booleans(),
    allow_transfers=st.booleans(),
    hold_timeout_seconds=st.just(900),
    earn_rate=st.just(EarnRate(points=5, per_minor_units=100)),
    rounding=st.sampled_from(list(Rounding)),
)

# A couple of earns first, so that there is something to spend from the start.
sequences = st.tuples(st.lists(earn_steps, min_size=1, max_size=3), st.lists(steps, min_size=1, max_size=30)) \
    .map(lambda parts: parts[0] + parts[1])
long_sequences = st.tuples(st.lists(earn_steps, min_size=2, max_size=5), st.lists(steps, min_size=30, max_size=80)) \
    .map(lambda parts: parts[0] + parts[1])


@dataclass
class World:
    """What a runner knows to turn steps into commands: member ids, holds placed,
    orders earned for (with their money), and how to ask for a member's spendable points."""

    members: list[str]
    spendable: Callable[[str], int]
    holds: list[tuple[int, int]] = field(default_factory=list)  # (hold id, points)
    orders: dict[tuple[str, str], int] = field(default_factory=dict)  # (member, order ref) -> money

    def hold(self, index: int) -> tuple[int, int]:
        return self.holds[index % len(self.holds)] if self.holds else (UNKNOWN_HOLD, 1)

    def points(self, member_id: str, spend: tuple[str, int]) -> int:
        kind, value = spend
        return value if kind == "points" else max(1, self.spendable(member_id) * value // 100)

    def succeeded(self, command: object, hold_id: int | None) -> None:
        if isinstance(command, cmd.Earn) and command.order_ref is not None:
            key = (command.member_id, command.order_ref)
            self.orders[key] = self.orders.get(key, 0) + (command.money.amount if command.money else 0)
        if isinstance(command, cmd.PlaceHold) and hold_id is not None:
            self.holds.append((hold_id, command.points))


def command_for(step: tuple, world: World, now: datetime) -> cmd.LedgerCommand | cmd.SetMemberStatus | None:
    """The command a step stands for, or None for the steps that are not commands
    (advancing the clock, running expiry)."""
    kind = step[0]
    m = world.members
    if kind == "earn":
        _, who, points, money, order, pending_days = step
        return cmd.Earn(m[who], points=points, money=None if money is None else Money(money, CURRENCY),
                        order_ref=None if order is None else f"order-{order}",
                        available_at=None if pending_days is None else now + timedelta(days=pending_days))
    if kind == "redeem":
        return cmd.Redeem(m[step[1]], world.points(m[step[1]], step[2]))
    if kind == "hold":
        return cmd.PlaceHold(m[step[1]], world.points(m[step[1]], step[2]), timeout_seconds=step[3])
    if kind == "capture":
        hold_id, held = world.hold(step[1])
        share = step[2]
        points = None if share is None else (share[1] if share[0] == "points" else max(1, held * share[1] // 100))
        return cmd.CaptureHold(hold_id, points)
    if kind == "void":
        return cmd.VoidHold(world.hold(step[1])[0])
    if kind == "reverse":
        orders = sorted(world.orders)
        member_id, ref = orders[step[1] % len(orders)] if orders else (m[0], "order-0")
        refund = step[2]
        if refund is None:
            return cmd.Reverse(member_id, ref)
        amount = refund[1] if refund[0] == "money" else max(1, world.orders.get((member_id, ref), 0) * refund[1] // 100)
        return cmd.Reverse(member_id, ref, Money(amount, CURRENCY))
    if kind == "adjust":
        _, who, points, credit = step
        return cmd.Adjust(m[who], points if credit else -points, reason="operator correction")
    if kind == "transfer":
        return cmd.Transfer(m[step[1]], m[step[2]], world.points(m[step[1]], step[3]))
    if kind == "status":
        return cmd.SetMemberStatus(m[step[1]], step[2])
    return None
