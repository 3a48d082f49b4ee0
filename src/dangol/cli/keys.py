"""`dangol keys`: API keys for programs (read, write) and admin keys."""

from __future__ import annotations

from typing import Annotated

import typer

from ..service.programs import Scope
from .context import CliError, state
from .output import out

app = typer.Typer(help="Create API keys.", no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    program: Annotated[str | None, typer.Option(help="The program the key acts on.")] = None,
    scope: Annotated[list[str] | None, typer.Option(
        help="read or write (repeat for both; write includes read).")] = None,
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
        raise CliError("a scope is read or write") from None
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
