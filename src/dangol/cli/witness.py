"""`dangol witness`: follow a log, cosign each checkpoint that extends the last one this
witness cosigned, and raise the alarm otherwise. The decisions are
transparency/witness.py's; this is the loop around them: fetch, prove, remember, post."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from ..transparency.keys import SignerKey
from ..transparency import note
from ..transparency.note import NoteError
from ..transparency.witness import Witness, WitnessRefusal
from .context import CliError
from .logclient import LogClient, LogError
from .output import err, number, out
from .verify import key_text, verifier

REFUSED = 1
ALARM = 3


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


def witness(log: Annotated[str, typer.Argument(help="The log's URL.")],
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
