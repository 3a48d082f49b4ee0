"""What every command shares: the database URL, opening the services, naming a program."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.engine import make_url

from ..domain.clock import as_utc
from ..service.container import Services
from ..storage.database import DEFAULT_POOL, DEFAULT_URL
from ..storage.migrate import current_revision, head_revision


class CliError(Exception):
    """A problem to report in one line (exit code 2)."""


@dataclass(frozen=True, slots=True)
class CliState:
    database_url: str = DEFAULT_URL

    @property
    def shown_url(self) -> str:
        """The URL without its password, fit to print."""
        return make_url(self.database_url).render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    def sqlite_path(self) -> Path | None:
        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return Path(url.database)

    def open(self, *, migrate: bool = False, pool: int = DEFAULT_POOL) -> Services:
        """The services on an initialised database (`migrate` initialises it); `pool` as
        in `Services.open`."""
        path = self.sqlite_path()
        if not migrate and path is not None and not path.exists():
            raise CliError(f"there is no database at {path}: run `dangol init` first")
        services = Services.open(self.database_url, migrate=migrate, pool=pool)
        if not migrate:
            revision = current_revision(services.db)
            if revision is None:
                services.db.dispose()
                raise CliError(f"the database at {self.shown_url} is not initialised: run `dangol init`")
            if revision != head_revision():
                services.db.dispose()
                raise CliError(f"the database at {self.shown_url} needs migrating: run `dangol init`")
        return services


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    return root.obj if isinstance(root.obj, CliState) else CliState()


def resolve_program(services: Services, program_id: str | None) -> str:
    """The program named, or the only one there is; the command then runs by its clock (its
    test clock, for a program in test mode)."""
    if program_id is not None:
        services.programs.get_program(program_id)  # a clear error when it does not exist
        services.clocks.enter(program_id)
        return program_id
    programs = services.programs.list_programs()
    if len(programs) == 1:
        services.clocks.enter(programs[0].id)
        return programs[0].id
    if not programs:
        raise CliError("there are no programs yet: create one with `dangol programs create` or run `dangol demo`")
    raise CliError(f"there are {len(programs)} programs ({', '.join(p.id for p in programs)}): pass --program")


def resolve_member(services: Services, program_id: str, member: str | None, ref: str | None) -> dict[str, Any]:
    """The member named by id or by the brand's reference (`--ref`), exactly one of them."""
    if (member is None) == (ref is None):
        raise CliError("name the member by id or by --ref, not both" if member else "name a member id or --ref")
    return (services.reader.member_by_ref(program_id, ref) if ref is not None
            else services.reader.member(program_id, member or ""))


def parse_time(value: str, option: str) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise CliError(f"{option} must be an ISO 8601 time with a zone, like 2026-01-31T00:00:00+09:00") from None
