"""`dangol init`: create or migrate the database and make the admin key."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from ..service.container import Services
from ..service.programs import Scope
from ..storage import tables as t
from ..storage.migrate import current_revision
from .context import state
from .output import out


def has_admin_key(services: Services) -> bool:
    keys = t.api_keys
    with services.db.read() as conn:
        found = conn.execute(select(keys.c.id).where(
            keys.c.program_id.is_(None), keys.c.revoked_at.is_(None)).limit(1)).first()
    return found is not None


def initialise(services: Services, new_admin_key: bool = False) -> str | None:
    """Makes an admin key unless there is one already (or one more if asked); returns
    its token, which exists nowhere else."""
    if has_admin_key(services) and not new_admin_key:
        return None
    _, token = services.programs.create_api_key(None, {Scope.ADMIN}, "admin")
    return token


def show_admin_key(token: str) -> None:
    out.print("Admin API key (shown only this once; keep it somewhere safe):")
    out.print(token, markup=False, soft_wrap=True)


def init(ctx: typer.Context,
         new_admin_key: Annotated[bool, typer.Option(
             "--new-admin-key", help="Make another admin key even if one exists.")] = False) -> None:
    """Create or migrate the database, make an admin key.

    Safe to run again: it migrates, and makes no second admin key unless asked."""
    cli = state(ctx)
    services = cli.open(migrate=True)
    try:
        token = initialise(services, new_admin_key)
        out.print(f"Database {cli.shown_url} is ready (schema {current_revision(services.db)}).", markup=False)
        out.print(f"Transparency log key: {services.log.verifier_key()}", markup=False)
        services.data_keys.provider.current_kek()  # a key file is made now, to be backed up from the start
        out.print(f"Members' personal data keys: {services.data_keys.settings.describe()} (back it up apart from "
                  "the database)", markup=False)
        if token:
            show_admin_key(token)
        else:
            out.print("An admin key exists already; `dangol init --new-admin-key` makes another.")
    finally:
        services.db.dispose()
