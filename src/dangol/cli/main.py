"""The `dangol` command: its global options and its commands."""

from __future__ import annotations

from typing import Annotated

import typer

from ..storage.database import DEFAULT_URL
from . import anchor, clock, events, fraud, insight, keys, log, members, privacy, programs, rules, staff, verify, witness
from . import tiers as tier_commands
from .backup import backup, restore
from .balance import balance
from .check import check
from .context import CliState
from .demo import demo
from .engagement import birthdays, leaderboard
from .errors import DangolGroup
from .expire import expire
from .importing import import_events
from .notify import deliveries_app, jobs_app, worker
from .replay import replay
from .simulate import simulate
from .serve import serve
from .setup import init

app = typer.Typer(
    name="dangol", cls=DangolGroup, no_args_is_help=True, add_completion=False,
    pretty_exceptions_enable=False, rich_markup_mode=None,
    help="dangol: a verifiable loyalty-points ledger. See docs/cli.md.",
)


@app.callback()
def main(
    ctx: typer.Context,
    database_url: Annotated[str, typer.Option(
        "--database-url", envvar="DANGOL_DATABASE_URL",
        help="sqlite:///path/to/file.db or postgresql://user@host/db.")] = DEFAULT_URL,
) -> None:
    ctx.obj = CliState(database_url)


app.command()(init)
app.command()(serve)
app.command()(demo)
app.command("import")(import_events)
app.command()(expire)
app.command()(balance)
app.command()(check)
app.command()(backup)
app.command()(restore)
app.command()(birthdays)
app.command()(leaderboard)
app.add_typer(programs.app, name="programs")
app.add_typer(clock.app, name="clock")
app.add_typer(keys.app, name="keys")
app.add_typer(anchor.app, name="anchor")
app.add_typer(rules.app, name="rules")
app.add_typer(events.app, name="events")
app.command()(events.quote)
app.command()(replay)
app.command()(simulate)
app.add_typer(tier_commands.app, name="tiers")
app.add_typer(log.app, name="log")
app.add_typer(verify.app, name="verify")
app.add_typer(witness.app, name="witness")
app.add_typer(members.app, name="members")
app.add_typer(privacy.app, name="privacy")
app.add_typer(fraud.app, name="fraud")
app.add_typer(staff.app, name="staff")
app.command()(worker)
app.add_typer(jobs_app, name="jobs")
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(insight.app, name="insight")
