"""`dangol verify`: check a transparency log without trusting its operator.

Every check prints one `OK: …` line and exits 0, or one `FAILED: …` line and exits 1;
unusable input (a bad URL, a missing file, a malformed key) is `error: …` and exit 2.
Keys are never taken from the log: `--key` is the log's verifier key you obtained
yourself (text, or a file holding it)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from ..transparency.audit import AuditError, AuditResult, audit, first_divergence, verify_extension, verify_receipt
from ..transparency.checkpoint import Checkpoint, VerifiedCheckpoint, open_checkpoint
from ..transparency.entry import Entry
from ..transparency.keys import VerifierKey
from ..transparency.mirror import Mirror, MirrorError
from ..transparency.note import NoteError
from ..transparency.report import program_report
from .context import CliError
from .logclient import LogClient
from .mirroring import sync, tree_of
from .output import count_progress, number, out, print_json

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="Verify a transparency log: checkpoints, receipts, consistency, "
                                             "mirrors, audits and reports.")

KeyOption = Annotated[str | None, typer.Option("--key", help="The log's verifier key (vkey text, or a file).")]
WitnessOption = Annotated[list[str] | None, typer.Option(
    "--witness", help="A witness's verifier key (text or file); repeat for each.")]
QuorumOption = Annotated[int, typer.Option("--quorum", help="How many of the witnesses must have cosigned.")]


class Failed(Exception):
    """A verification that failed: `FAILED: …`, exit 1."""


def key_text(value: str) -> str:
    path = Path(value)
    try:
        if path.is_file():
            return path.read_text().strip()
    except OSError:
        pass
    return value.strip()


def verifier(value: str | None, what: str = "--key") -> VerifierKey:
    if value is None:
        raise CliError(f"{what} is required: the log's verifier key, obtained other than from the log itself")
    try:
        return VerifierKey.parse(key_text(value))
    except NoteError as error:
        raise CliError(f"{what}: {error}") from None


def witness_keys(values: list[str] | None) -> list[VerifierKey]:
    return [verifier(v, "--witness") for v in values or ()]


def opened(signed: bytes, key: VerifierKey, witnesses: Sequence[VerifierKey] = (), quorum: int = 0,
           ) -> VerifiedCheckpoint:
    try:
        return open_checkpoint(signed, key, witnesses=witnesses, quorum=quorum)
    except NoteError as error:
        raise Failed(f"the checkpoint does not verify: {error}") from None


def read_checkpoint(source: str, client: LogClient | None) -> bytes:
    """A signed checkpoint from a file, or the log's latest when `source` is '-' or a URL."""
    if source.startswith(("http://", "https://")):
        return LogClient(source).checkpoint()
    if source == "-":
        if client is None:
            raise CliError("'-' means the log's latest checkpoint: give the log's URL")
        return client.checkpoint()
    return Path(source).read_bytes()


def hash_arg(value: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise CliError(f"{what} is a base64 SHA-256 hash (32 bytes)")
    return raw


def describe(checkpoint: Checkpoint) -> str:
    return (f"{checkpoint.origin} at size {number(checkpoint.size)}, "
            f"root {base64.b64encode(checkpoint.root_hash).decode()}")


def run(check: Callable[[], T]) -> T:
    """Runs a check: a failed verification is one FAILED line and exit code 1."""
    try:
        return check()
    except (Failed, AuditError, MirrorError) as error:
        out.print(f"FAILED: {error}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None


@app.command()
def checkpoint(source: Annotated[str, typer.Argument(help="The log's URL, or a checkpoint file.")],
               key: KeyOption = None, witness: WitnessOption = None, quorum: QuorumOption = 0,
               save: Annotated[Path | None, typer.Option("--save", help="Keep the verified checkpoint here.")] = None,
               ) -> None:
    """Check a checkpoint's signature, and its witnesses' cosignatures."""
    log_key, witnesses = verifier(key), witness_keys(witness)

    def check() -> None:
        signed = read_checkpoint(source, None)
        verified = opened(signed, log_key, witnesses, quorum)
        if save:
            save.write_bytes(signed)
        out.print(f"OK: checkpoint of {describe(verified.checkpoint)}, cosigned by "
                  f"{len(verified.cosignatures)} of the {len(witnesses)} witnesses given", markup=False)
    run(check)


@app.command()
def receipt(log: Annotated[str, typer.Argument(help="The log's URL.")],
            leaf_hash: Annotated[str, typer.Option("--leaf-hash", help="The receipt's leaf hash (base64).")],
            sequence: Annotated[int | None, typer.Option("--sequence", help="The receipt's sequence number.")] = None,
            index: Annotated[int | None, typer.Option("--index", help="The entry's index, instead.")] = None,
            at: Annotated[str, typer.Option("--checkpoint", help="A checkpoint file to prove against "
                                                                 "(default: the log's latest).")] = "-",
            key: KeyOption = None, witness: WitnessOption = None, quorum: QuorumOption = 0) -> None:
    """Check that a receipt (sequence and leaf hash) is in the log at a checkpoint."""
    if (sequence is None) == (index is None):
        raise CliError("give the receipt's --sequence or the entry's --index")
    wanted = hash_arg(leaf_hash, "--leaf-hash")
    client, log_key, witnesses = LogClient(log), verifier(key), witness_keys(witness)

    def check() -> None:
        cp = opened(read_checkpoint(at, client), log_key, witnesses, quorum).checkpoint
        proof = client.inclusion(cp.size, index=index, sequence=sequence)
        if proof.leaf_hash != wanted:
            raise Failed(f"the log holds another leaf at index {proof.index} (sequence {proof.sequence}) "
                         "than the receipt's")
        if proof.size != cp.size or (index is not None and proof.index != index):
            raise Failed("the log answered a proof for another leaf or tree size than asked")
        verify_receipt(cp, proof.index, wanted, proof.hashes)
        out.print(f"OK: the receipt is entry {number(proof.index)} of the log {describe(cp)}", markup=False)
    run(check)


@app.command()
def consistency(log: Annotated[str, typer.Argument(help="The log's URL.")],
                old: Annotated[Path, typer.Option("--old", help="The checkpoint you kept (file).")],
                new: Annotated[str, typer.Option("--new", help="A newer checkpoint file (default: the log's "
                                                              "latest).")] = "-",
                key: KeyOption = None, save: Annotated[Path | None, typer.Option(
                    "--save", help="Keep the newer checkpoint here once verified.")] = None) -> None:
    """Check that the log's newer checkpoint extends one you kept."""
    client, log_key = LogClient(log), verifier(key)

    def check() -> None:
        older = opened(old.read_bytes(), log_key).checkpoint
        signed = read_checkpoint(new, client)
        newer = opened(signed, log_key).checkpoint
        proof = client.consistency(older.size, newer.size) if 0 < older.size < newer.size else []
        verify_extension(older, newer, proof)
        if save:
            save.write_bytes(signed)
        out.print(f"OK: the log at size {number(newer.size)} extends the one at size {number(older.size)}",
                  markup=False)
    run(check)


@app.command()
def mirror(log: Annotated[str, typer.Argument(help="The log's URL.")],
           directory: Annotated[Path, typer.Argument(help="The mirror's directory (created if new).")],
           key: KeyOption = None, witness: WitnessOption = None, quorum: QuorumOption = 0) -> None:
    """Copy the log's entries into a directory, or bring a copy up to date."""
    client = LogClient(log)
    if (directory / "mirror.json").exists():
        store = Mirror(directory)
        log_key = verifier(key or store.key)
        if log_key.encode() != store.key:
            raise CliError(f"{directory} mirrors a log with another key ({store.key})")
    else:
        log_key = verifier(key)
        store = Mirror.create(directory, client.url, log_key.encode())
    witnesses = witness_keys(witness)

    def check() -> None:
        with count_progress("fetching entries") as bar:
            task = bar.add_task("fetch", total=None)
            synced = sync(client, store, log_key, witnesses=witnesses, quorum=quorum,
                          progress=lambda done, total: bar.update(task, completed=done, total=total))
        added = synced.checkpoint.size - synced.before
        out.print(f"OK: mirrored {number(added)} new entries; the mirror holds the log {describe(synced.checkpoint)}",
                  markup=False)
    run(check)


def audit_mirror(directory: Path, key: str | None, log: str | None,
                 visit: Callable[[Entry], None] | None = None) -> AuditResult:
    store = Mirror(directory)
    log_key = verifier(key or store.key)
    signed = store.signed_checkpoint()
    if signed is None:
        raise CliError(f"{directory} holds no checkpoint yet: run `dangol verify mirror` first")
    cp = opened(signed, log_key).checkpoint
    earlier = [opened(s, log_key).checkpoint for s in store.history()]
    with count_progress("auditing entries") as bar:
        task = bar.add_task("audit", total=cp.size)
        try:
            return audit(store.records(), cp, earlier=earlier, visit=visit,
                         progress=lambda n: bar.update(task, completed=n))
        except AuditError as error:
            if error.index is not None or log is None:
                raise
            # The tree is wrong but no entry says why: the log's proofs name the first bad one.
            first = first_divergence(tree_of(store, cp.size), cp.size, cp, LogClient(log).consistency)
            if first == cp.size:  # the log's proofs vouch for every entry: they say nothing more
                raise
            raise AuditError(f"{error.reason}; the log's proofs show the first bad entry", first) from None


@app.command("audit")
def audit_command(directory: Annotated[Path, typer.Argument(help="A mirror's directory.")],
                  key: KeyOption = None,
                  log: Annotated[str | None, typer.Option(
                      "--log", help="The log's URL, to pinpoint the first bad entry if the tree is wrong.")] = None,
                  as_json: Annotated[bool, typer.Option("--json", help="Print the balances as JSON.")] = False,
                  ) -> None:
    """Audit a mirror: every leaf hash, every entry, the tree, and every balance recomputed."""
    def check() -> None:
        result = audit_mirror(directory, key, log)
        programs = result.books.programs
        if as_json:
            print_json({"ok": True, "size": result.checkpoint.size, "programs": {
                p: {"transactions": b.transactions, "rulesets": b.rulesets, "accounts": b.accounts,
                    "outstanding": b.outstanding(),
                    "members": {m: {"available": v.available, "pending": v.pending, "held": v.held, "debt": v.debt}
                                for m, v in sorted(b.members.items())}}
                for p, b in sorted(programs.items())}})
            return
        for name, b in sorted(programs.items()):
            out.print(f"program {name}: {number(b.transactions)} transactions, {number(b.rulesets)} rulesets, "
                      f"{number(len(b.members))} members, {number(b.outstanding())} points outstanding",
                      markup=False)
        out.print(f"OK: {number(result.checkpoint.size)} entries audited against the log {describe(result.checkpoint)}",
                  markup=False)
    run(check)


@app.command()
def report(directory: Annotated[Path, typer.Argument(help="A mirror's directory.")],
           program: Annotated[str, typer.Option("--program", help="The program to report on.")],
           key: KeyOption = None,
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON (as GET /v1/log/report does).")] = False,
           ) -> None:
    """A program's monthly report (issued, redeemed, expired, outstanding), recomputed from an audited mirror."""
    entries: list[Entry] = []

    def check() -> None:
        result = audit_mirror(directory, key, None,
                              visit=lambda e: entries.append(e) if e.program == program else None)
        computed = program_report(entries, program, result.checkpoint.size)
        if as_json:
            print_json(computed.to_json())
            return
        out.print(f"{'period':<8} {'issued':>14} {'adjusted':>12} {'redeemed':>14} {'expired':>12} "
                  f"{'reversed':>12} {'outstanding':>14}", markup=False)
        for f in (*computed.periods, computed.total):
            out.print(f"{f.period:<8} {number(f.issued):>14} {number(f.adjusted):>12} {number(f.redeemed):>14} "
                      f"{number(f.expired):>12} {number(f.reversed):>12} {number(f.outstanding):>14}", markup=False)
        out.print(f"OK: recomputed from the {number(computed.size)} audited entries of {describe(result.checkpoint)}",
                  markup=False)
    run(check)
