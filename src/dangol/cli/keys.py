"""`dangol keys`: API keys for programs (read, write) and admin keys: create, list, revoke."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ..service.programs import IssuedKey, Scope
from ..service.receipts import iso
from .context import CliError, state
from .output import minute, out, print_json

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    program: Annotated[str | None, typer.Option(help="The program the key acts on.")] = None,
    scope: Annotated[list[str] | None, typer.Option(
        help="read, write or personal (repeat for several; write includes read; personal: members' "
             "personal data, exports and erasure).")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="An admin key, for every program.")] = False,
    name: Annotated[str, typer.Option(help="A label to recognise the key by.")] = "cli",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the token.")] = False,
) -> None:
    """Create an API key and print its token (shown only this once)."""
    if admin == (program is not None):
        raise CliError("pass --program P (with --scope) or --admin")
    try:
        scopes = {Scope.ADMIN} if admin else {Scope(s) for s in (scope or ["read"])}
    except ValueError:
        raise CliError("a scope is read, write or personal") from None
    if not admin and Scope.ADMIN in scopes:
        raise CliError("use --admin for an admin key")
    services = state(ctx).open()
    try:
        key, token = services.programs.create_api_key(None if admin else program, scopes, name)
    finally:
        services.db.dispose()
    if quiet:
        out.print(token, markup=False, soft_wrap=True)
        return
    what = "admin key" if admin else f"key for program {program} ({', '.join(sorted(scopes))})"
    out.print(f"Created {what}, id {key.id}. Token (shown only this once):", markup=False,
              soft_wrap=True)
    out.print(token, markup=False, soft_wrap=True)


@app.command("list")
def list_keys(
    ctx: typer.Context,
    program: Annotated[str | None, typer.Option(help="Only this program's keys (default: every key).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List API keys, revoked ones too (never their tokens)."""
    services = state(ctx).open()
    try:
        keys = services.programs.api_keys(program)
    finally:
        services.db.dispose()
    if as_json:
        print_json([k.as_json() for k in keys])
        return
    table = Table(title=f"API keys{f' of program {program}' if program else ''} (times in UTC)")
    for column in ("id", "name", "program", "scopes", "created", "revoked"):
        table.add_column(column, no_wrap=column in ("id", "created", "revoked"), overflow="fold")
    for k in keys:
        table.add_row(k.id, k.name, k.program_id or "all", " ".join(k.scopes), minute(k.created_at),
                      minute(k.revoked_at))
    out.print(table)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(metavar="ID", help="The key's id (as `keys list` shows it), not its token.",
                                          show_default=False)],
) -> None:
    """Revoke an API key. A server on the same database refuses it within 2 seconds; revoking
    it again changes nothing."""
    services = state(ctx).open()
    try:
        revoked = services.programs.revoke_api_key(key_id)
    finally:
        services.db.dispose()
    out.print(f"Revoked {_described(revoked)} at {iso(revoked.revoked_at)}.", markup=False, soft_wrap=True)


def _described(key: IssuedKey) -> str:
    owner = f"program {key.program_id}" if key.program_id else "admin"
    return f"key {key.id} ({key.name}, {owner})"
