"""`dangol log`: the transparency log's operator commands."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ..service.container import Services
from .context import state
from .output import count_progress, number, out, print_json

app = typer.Typer(no_args_is_help=True, help="The transparency log: integrate, sign, witnesses, status.")


def integrate_log(services: Services) -> int:
    """Extends the log's tree with every entry written so far (commands that write call
    it at the end, so that their transactions are in the tree when they return)."""
    with count_progress("integrating log entries") as progress:
        task = progress.add_task("integrate", total=services.log.status().pending or None)
        return services.log.integrate(progress=lambda n: progress.advance(task, n))


@app.command()
def integrate(ctx: typer.Context) -> None:
    """Extend the tree with the entries written since the last integration."""
    services = state(ctx).open()
    try:
        done = integrate_log(services)
        size = services.log.status().tree_size
    finally:
        services.db.dispose()
    out.print(f"Integrated {number(done)} entries; the tree has {number(size)} leaves.")


@app.command()
def sign(ctx: typer.Context) -> None:
    """Integrate pending entries and sign a checkpoint (printed).

    Refuses (exit 2) if the stored tree does not extend the last checkpoint signed."""
    services = state(ctx).open()
    try:
        integrate_log(services)
        services.log.sign()
        note = services.log.checkpoint_note()
    finally:
        services.db.dispose()
    out.print(note, markup=False, end="")


@app.command()
def status(ctx: typer.Context,
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The tree's size, entries waiting to be integrated, the last checkpoint, witnesses."""
    services = state(ctx).open()
    try:
        report = services.log.status()
    finally:
        services.db.dispose()
    if as_json:
        print_json(report.as_json())
        return
    table = Table(title=f"Log {report.origin}", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("tree size", number(report.tree_size))
    table.add_row("pending entries", number(report.pending))
    if report.checkpoint_size is None:
        table.add_row("last checkpoint", "none yet")
    else:
        signed = report.checkpoint_at.isoformat().replace("+00:00", "Z") if report.checkpoint_at else "?"
        table.add_row("last checkpoint", f"{number(report.checkpoint_size)} leaves, {signed}")
    table.add_row("witnesses (quorum)", f"{report.witnesses} ({report.quorum})")
    out.print(table)


@app.command("add-witness")
def add_witness(ctx: typer.Context,
                vkey: Annotated[str, typer.Argument(help="The witness's verifier key (name+id+base64, type 0x04).")],
                ) -> None:
    """Register a witness whose cosignatures the log accepts and publishes."""
    services = state(ctx).open()
    try:
        added = services.log.add_witness(vkey)
    finally:
        services.db.dispose()
    out.print("Witness registered." if added else "That witness was registered already.")


@app.command()
def quorum(ctx: typer.Context,
           k: Annotated[int, typer.Argument(min=0, help="Cosignatures a checkpoint needs to count as final.")]) -> None:
    """Set how many witness cosignatures make a checkpoint final."""
    services = state(ctx).open()
    try:
        services.log.set_quorum(k)
    finally:
        services.db.dispose()
    out.print(f"Quorum set to {k}.")


@app.command()
def key(ctx: typer.Context) -> None:
    """Print the log's verifier key (made, with its signer key file, if there is none)."""
    services = state(ctx).open()
    try:
        vkey = services.log.verifier_key()
    finally:
        services.db.dispose()
    out.print(vkey, markup=False)
