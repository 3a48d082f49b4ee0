"""`dangol staff`: the operator console's staff accounts (create, list, disable, reset the
second factor) and the audit log of what staff did. Run on the server, so every change here
is recorded as `cli`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ..service.staff.accounts import Enrolled
from ..service.staff.audit import CLI
from ..staff.roles import PERMISSIONS, Role, needs_totp
from ..storage.audit_repository import AuditFilter
from .context import state
from .output import minute, out, print_json

app = typer.Typer(help="Staff accounts of the operator console, and their audit log.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
UsernameArgument = Annotated[str, typer.Argument(metavar="USERNAME", help="The staff account's username.",
                                                 show_default=False)]


@app.command("create")
def create(
    ctx: typer.Context,
    username: UsernameArgument,
    role: Annotated[str, typer.Option(help="owner, marketer, support or auditor (read-only).")] = "owner",
    password: Annotated[str, typer.Option(
        prompt=True, hide_input=True, confirmation_prompt=True, envvar="DANGOL_STAFF_PASSWORD",
        help="At least 12 characters (asked for when not given; or DANGOL_STAFF_PASSWORD).")] = "",
    totp: Annotated[bool, typer.Option(
        "--totp/--no-totp", help="A second factor (TOTP); only an auditor may go without.")] = True,
) -> None:
    """Create a staff account (the first one: an owner) and print its two-factor secret and
    provisioning URI, shown only this once."""
    services = state(ctx).open()
    try:
        enrolled = services.staff.create(username, role, password, CLI, totp=totp)
    finally:
        services.db.dispose()
    out.print(f"Created staff account {enrolled.account.username} ({enrolled.account.role.value}).", markup=False)
    _print_enrolment(enrolled)


def _print_enrolment(enrolled: Enrolled) -> None:
    if enrolled.totp_secret is None:
        out.print("No second factor: signs in with the password alone.", markup=False)
        return
    out.print("Add it to an authenticator app (shown only this once):", markup=False)
    out.print(f"TOTP secret: {enrolled.totp_secret}", markup=False)
    out.print(f"URI: {enrolled.totp_uri}", markup=False, soft_wrap=True)


@app.command("list")
def list_staff(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List staff accounts, disabled ones too (never their passwords or secrets)."""
    services = state(ctx).open()
    try:
        accounts = services.staff.list()
    finally:
        services.db.dispose()
    if as_json:
        print_json([a.as_json() for a in accounts])
        return
    table = Table(title="Staff accounts (times in UTC)")
    for column in ("username", "role", "2FA", "created", "disabled"):
        table.add_column(column, no_wrap=True)
    for a in accounts:
        table.add_row(a.username, a.role.value, "yes" if a.totp_secret else "no", minute(a.created_at),
                      minute(a.disabled_at))
    out.print(table)


@app.command("roles")
def roles(as_json: JsonOption = False) -> None:
    """What each role may do, and whether it needs a second factor."""
    if as_json:
        print_json({role.value: {"permissions": sorted(p.value for p in PERMISSIONS[role]), "totp": needs_totp(role)}
                    for role in Role})
        return
    table = Table(title="Staff roles")
    for column in ("role", "2FA required", "may"):
        table.add_column(column)
    for role in Role:
        table.add_row(role.value, "yes" if needs_totp(role) else "no",
                      ", ".join(sorted(p.value for p in PERMISSIONS[role])))
    out.print(table)


@app.command("disable")
def disable(ctx: typer.Context, username: UsernameArgument) -> None:
    """Disable a staff account and end its sessions (never the last active owner)."""
    services = state(ctx).open()
    try:
        account = services.staff.disable(username, CLI)
    finally:
        services.db.dispose()
    out.print(f"Disabled staff account {account.username}.", markup=False)


@app.command("reset-totp")
def reset_totp(ctx: typer.Context, username: UsernameArgument) -> None:
    """Give a staff account a new two-factor secret (the old one stops working) and end its
    sessions; prints the new secret and URI."""
    services = state(ctx).open()
    try:
        enrolled = services.staff.reset_totp(username, CLI)
    finally:
        services.db.dispose()
    out.print(f"New second factor for {enrolled.account.username}; their sessions ended.", markup=False)
    _print_enrolment(enrolled)


@app.command("audit-log")
def audit_log(
    ctx: typer.Context,
    program: Annotated[str | None, typer.Option(help="Only this program's entries.")] = None,
    member: Annotated[str | None, typer.Option(help="Only entries about this member.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor's entries (staff:<username>, cli, …).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many entries (1 to 200).")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Continue after this entry id (the last page's next).")] = None,
    as_json: JsonOption = False,
) -> None:
    """The audit log, oldest first: staff actions and personal-data reads and changes."""
    services = state(ctx).open()
    try:
        page = services.staff_audit.entries(AuditFilter(program, member, None, actor), cursor=cursor, limit=limit)
    finally:
        services.db.dispose()
    if as_json:
        print_json({"items": page.items, "next_cursor": page.next_cursor})
        return
    # One line an entry (a table would fold the states into slivers): id, time, who, from
    # where, what, on what, and the change.
    for e in page.items:
        on = " ".join(f"{name}={e[key]}" for name, key in (("program", "program_id"), ("member", "member_id"))
                      if e[key])
        change = (f"{_compact(e['before'])} -> {_compact(e['after'])}" if e["before"] or e["after"]
                  else _compact(e["detail"]))
        out.print(" ".join(part for part in (str(e["id"]), e["at"], e["actor"], f"from {e['address']}"
                                             if e["address"] else "", e["action"], on, change) if part),
                  markup=False, soft_wrap=True)
    if page.next_cursor:
        out.print(f"More: --cursor {page.next_cursor}", markup=False)



def _compact(value: object) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
