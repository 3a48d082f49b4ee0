"""`dangol witness`: follow a log, cosign each checkpoint that extends the last one this
witness cosigned, and raise the alarm otherwise (`dangol witness URL …`, the same as
`dangol witness follow URL …`); make a witness's key (`dangol witness keygen`). The
decisions are transparency/witness.py's; this is the loop around them: fetch, prove,
remember, post."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ..storage.log_key_file import create_key_file
from ..transparency.keys import SIG_COSIGNATURE_V1, SignerKey
from ..transparency import note
from ..transparency.note import NoteError
from ..transparency.witness import Witness, WitnessRefusal
from .context import CliError
from .logclient import LogClient, LogError
from .output import err, number, out
from .verify import key_text, verifier

REFUSED = 1
ALARM = 3


class _FollowUnlessNamed(TyperGroup):
    """`dangol witness URL …` is `dangol witness follow URL …`: the witness's usual work
    keeps its short form, and `keygen` is a command beside it."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["follow", *args]
        result: list[str] = super().parse_args(ctx, args)
        return result


app = typer.Typer(cls=_FollowUnlessNamed, no_args_is_help=True, help=(
    "A witness of a log: `dangol witness URL --log-key K --key FILE --state FILE` (or `dangol witness "
    "follow …`) cosigns each checkpoint that extends the last one it cosigned, and raises the alarm "
    "(ALARM on stderr, exit 3) otherwise; `dangol witness keygen NAME --key FILE` makes its key."))


def load_signer(path: Path) -> SignerKey:
    try:
        return SignerKey.parse(path.read_text().strip())
    except NoteError as error:
        raise CliError(f"{path}: {error}") from None


def step(client: LogClient, witness: Witness, state: Path) -> Witness:
    """One round: returns the witness as it now stands (the state file written first)."""
    signed = client.checkpoint()
    checkpoint = witness.open(signed)
    if witness.state is not None and witness.state.checkpoint.size < checkpoint.size:
        # The log must still stand by what we cosigned: a different checkpoint it now serves
        # for that size is a split view, even if the new one is consistent with it.
        earlier = client.checkpoint_at(witness.state.checkpoint.size)
        if earlier is not None:
            witness.cosign(earlier, [])  # raises WitnessRefusal (alarm) if it differs
    span = witness.needs_proof(checkpoint)
    proof = client.consistency(*span) if span else []
    cosigned, after = witness.cosign(signed, proof)
    signer = witness.signer
    published = any((s.name, s.key_id) == (signer.name, signer.key_id) for s in note.parse(signed).signatures)
    if witness.state is not None and witness.state.checkpoint == checkpoint and published:
        return witness  # nothing new, and our cosignature is already on it
    tmp = state.with_name(state.name + ".tmp")
    tmp.write_bytes(signed)
    os.replace(tmp, state)  # remembered before it is posted: never cosign a conflicting one later
    client.post_cosignature(cosigned)
    out.print(f"cosigned {checkpoint.origin} at size {number(checkpoint.size)}", markup=False)
    return after


@app.command()
def keygen(name: Annotated[str, typer.Argument(help="The witness's name, e.g. witness.example/w1.")],
           key: Annotated[Path, typer.Option("--key", help="The signer key file to make (never replaced).")]) -> None:
    """Make a witness's cosignature key (type 0x04): writes the signer key file, readable by
    its owner only, and prints the verifier key the log's operator registers
    (`dangol log add-witness`) and auditors pass to `--witness`."""
    try:
        signer = SignerKey.generate(name, SIG_COSIGNATURE_V1)
    except NoteError as error:
        raise CliError(f"{name!r} cannot name a key: {error}") from None
    if not create_key_file(key, signer):
        raise CliError(f"{key} exists: a witness keeps its key (remove the file to make a new one)")
    out.print(signer.vkey(), markup=False)


@app.command()
def follow(log: Annotated[str, typer.Argument(help="The log's URL.")],
            log_key: Annotated[str, typer.Option("--log-key", help="The log's verifier key (text, or a file).")],
            key: Annotated[Path, typer.Option("--key", help="This witness's signer key file (a cosignature "
                                                            "key, PRIVATE+KEY+…).")],
            state: Annotated[Path, typer.Option("--state", help="Where the last cosigned checkpoint is kept.")],
            once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
            interval: Annotated[float, typer.Option("--interval", help="Seconds between rounds.")] = 60.0) -> None:
    """Witness a log: verify and cosign each new checkpoint; alarm (exit 3) on a split view,
    a rollback or an inconsistent history, leaving the state as it was."""
    client = LogClient(log)
    current = Witness(verifier(key_text(log_key), "--log-key"), load_signer(key))
    if state.exists():
        try:
            current = current.load(state.read_bytes())
        except WitnessRefusal as error:
            raise CliError(f"{state}: {error}") from None
    while True:
        try:
            current = step(client, current, state)
        except WitnessRefusal as refusal:
            if refusal.alarm:
                err.print(f"ALARM: {refusal}", markup=False, soft_wrap=True)
                raise typer.Exit(ALARM) from None
            err.print(f"refused: {refusal}", markup=False, soft_wrap=True)
            raise typer.Exit(REFUSED) from None
        except LogError as error:
            if once:
                raise
            err.print(f"warning: {error}; trying again in {interval:g} s", markup=False, soft_wrap=True)
        if once:
            return
        time.sleep(interval)
