"""Errors become one line on stderr and an exit code, never a traceback."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.exc import ArgumentError, OperationalError
from typer.core import TyperGroup

from ..domain.errors import DomainError
from ..importer import ImportFileError
from ..storage.backups import BackupError
from .context import CliError
from .output import err

USAGE_ERROR = 2


def message(error: BaseException) -> str | None:
    """The line to print for an error the user can act on; None for a bug."""
    if isinstance(error, DomainError):
        return error.detail
    if isinstance(error, (CliError, ImportFileError, BackupError)):
        return str(error)
    if isinstance(error, OperationalError):
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        return f"cannot use the database: {reason}"
    if isinstance(error, ArgumentError):
        return f"invalid database URL ({error})"
    if isinstance(error, OSError):
        name = f"{error.filename}: " if error.filename else ""
        return f"{name}{error.strerror or error}"
    if isinstance(error, ValueError):
        return str(error)
    return None


class DangolGroup(TyperGroup):
    """The command group of `dangol`: turns known errors into `error: …` lines."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (DomainError, CliError, BackupError, ValueError, OperationalError, ArgumentError, OSError) as error:
            text = message(error)
            if text is None:
                raise
            err.print(f"error: {text}", markup=False, soft_wrap=True)
            raise typer.Exit(USAGE_ERROR) from None
