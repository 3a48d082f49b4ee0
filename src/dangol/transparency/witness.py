"""A witness's decisions (c2sp.org/tlog-witness in spirit): it remembers the last
checkpoint of a log it cosigned, and cosigns a new one only if the log signed it and it
extends the remembered one. Anything else is refused, and the remembered checkpoint is
kept, so the witness never vouches for two histories:

- a checkpoint not signed by the log's key, or of another origin: refused;
- a smaller tree than the one remembered: a rollback, alarm;
- a tree of the same size with another root: a split view, alarm;
- a larger tree whose consistency proof fails: a fork or a rewritten history, alarm.

Pure: the caller fetches the checkpoint and the proof and stores the state (the HTTP
loop is `dangol witness`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import note
from .audit import AuditError, verify_extension
from .checkpoint import Checkpoint, open_checkpoint
from .keys import SIG_COSIGNATURE_V1, SignerKey, VerifierKey
from .note import NoteError


class WitnessRefusal(ValueError):
    """A checkpoint the witness will not cosign. `alarm` when the log showed two
    histories (a split view, a rollback, an inconsistent extension): someone must look."""

    def __init__(self, message: str, *, alarm: bool) -> None:
        super().__init__(message)
        self.alarm = alarm


@dataclass(frozen=True)
class WitnessState:
    """The last checkpoint cosigned, as the log's signed note (what the state file holds)."""

    signed: bytes
    checkpoint: Checkpoint


@dataclass(frozen=True)
class Witness:
    log: VerifierKey
    signer: SignerKey
    state: WitnessState | None = None

    def __post_init__(self) -> None:
        if self.signer.sig_type != SIG_COSIGNATURE_V1:
            raise ValueError("a witness signs with a cosignature key (type 0x04)")

    def load(self, signed: bytes) -> Witness:
        """The witness with a state read back from its file (checked like any checkpoint)."""
        return Witness(self.log, self.signer, WitnessState(signed, self.open(signed)))

    def open(self, signed: bytes) -> Checkpoint:
        try:
            return open_checkpoint(signed, self.log).checkpoint
        except NoteError as error:
            raise WitnessRefusal(f"not a checkpoint signed by {self.log.name}: {error}", alarm=False) from None

    def needs_proof(self, checkpoint: Checkpoint) -> tuple[int, int] | None:
        """The consistency proof (from, to) the witness needs to judge `checkpoint`."""
        if self.state is None or not 0 < self.state.checkpoint.size < checkpoint.size:
            return None
        return self.state.checkpoint.size, checkpoint.size

    def cosign(self, signed: bytes, proof: Sequence[bytes] = ()) -> tuple[bytes, Witness]:
        """The checkpoint with this witness's cosignature added, and the witness that
        remembers it; or WitnessRefusal, the witness unchanged. Cosigning the same
        checkpoint again is allowed (a cosignature that was lost on the way)."""
        checkpoint = self.open(signed)
        if self.state is not None:
            try:
                verify_extension(self.state.checkpoint, checkpoint, proof)
            except AuditError as error:
                raise WitnessRefusal(str(error), alarm=True) from None
        cosigned = note.add_signatures(note.parse(signed), [self.signer]).encode()  # replaces an earlier one
        return cosigned, Witness(self.log, self.signer, WitnessState(signed, checkpoint))
