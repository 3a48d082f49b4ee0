"""`dangol anchor`: anchor signed checkpoints to an Ethereum-compatible chain, verify
and list anchors (docs/transparency.md, "Anchoring"). Needs the `anchor` extra: web3 is
imported only when one of these commands runs, so the rest of dangol works without it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer

from ..anchoring import AnchorRecord, ChainAnchor
from ..anchoring.records import append_record, load_records
from ..transparency import Checkpoint, VerifierKey, open_checkpoint
from .context import CliError
from .output import count_progress, err, out, plural, print_json

app = typer.Typer(help="Anchor checkpoints to an Ethereum-compatible chain (needs dangol[anchor]).",
                  no_args_is_help=True)

KEY_ENV = "DANGOL_ANCHOR_KEY"
CheckpointFile = Annotated[Path, typer.Argument(help="A signed checkpoint (C2SP signed note).")]
Rpc = Annotated[str, typer.Option("--rpc", envvar="DANGOL_ANCHOR_RPC", help="The chain's JSON-RPC URL.")]
LogKey = Annotated[str, typer.Option("--log-key", envvar="DANGOL_LOG_KEY",
                                     help="The log's verifier key, or a file holding it.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def adapter() -> ModuleType:
    """dangol.anchoring.chain, or a one-line way out when web3 is not installed."""
    try:
        from ..anchoring import chain
    except ImportError:
        raise CliError("anchoring needs web3.py, which is not installed: pip install 'dangol[anchor]'") from None
    return chain


def read_checkpoint(path: Path, log_key: str) -> Checkpoint:
    """The checkpoint in `path`, after checking the log's signature on it."""
    key_text = Path(log_key).read_text(encoding="utf-8").strip() if os.path.isfile(log_key) else log_key.strip()
    try:
        key = VerifierKey.parse(key_text)
    except ValueError as error:
        raise CliError(f"--log-key: {error}") from None
    try:
        return open_checkpoint(path.read_bytes(), key).checkpoint
    except ValueError as error:
        raise CliError(f"{path}: {error}") from None


def describe(anchor: ChainAnchor) -> str:
    r, c = anchor.record, anchor.checkpoint
    return (f"{c.origin} at tree size {c.size}: transaction {r.tx_hash}, chain {r.chain_id}, "
            f"block {r.block_number} ({r.block_time_utc()}), sent by {r.sender}")


@app.command("submit")
def submit(
    checkpoint_file: CheckpointFile, rpc: Rpc, log_key: LogKey,
    key_file: Annotated[Path | None, typer.Option(
        "--key-file", envvar="DANGOL_ANCHOR_KEY_FILE",
        help=f"A file holding the paying account's private key (hex); otherwise ${KEY_ENV}.")] = None,
    records: Annotated[Path | None, typer.Option(
        "--records", help="A file of anchor records (JSON lines): adds this one; sends nothing if it has it.")] = None,
) -> None:
    """Anchor a signed checkpoint: send a transaction carrying its tree head and print the record."""
    chain = adapter()
    checkpoint = read_checkpoint(checkpoint_file, log_key)
    if key_file is not None:
        private_key = key_file.read_text(encoding="utf-8")
    elif os.environ.get(KEY_ENV):
        private_key = os.environ[KEY_ENV]
    else:
        raise CliError(f"no key to pay for the anchor: set {KEY_ENV} to a private key (hex) or pass --key-file")
    account = chain.load_account(private_key)
    known = load_records(records) if records is not None else []
    web3 = chain.connect(rpc)
    record: AnchorRecord = chain.Anchor(web3, account).anchor(checkpoint, known)
    if records is not None and record not in known:
        append_record(records, record)
    verb = "Already anchored" if record in known else "Anchored"
    err.print(f"{verb}: {describe(ChainAnchor(record, checkpoint))}", markup=False, soft_wrap=True)
    print_json(ChainAnchor(record, checkpoint).to_json())


@app.command("verify")
def verify(
    checkpoint_file: CheckpointFile, rpc: Rpc, log_key: LogKey,
    tx: Annotated[str | None, typer.Option("--tx", help="The anchor's transaction hash.")] = None,
    record: Annotated[Path | None, typer.Option(
        "--record", help="A record printed by `anchor submit` (JSON), checked field by field.")] = None,
    sender: Annotated[str | None, typer.Option("--sender", help="Require the anchor to come from this address.")] = None,
    as_json: AsJson = False,
) -> None:
    """Check that a signed checkpoint was anchored: exit 0 if so, 2 with the reason if not."""
    chain = adapter()
    if (tx is None) == (record is None):
        raise CliError("pass --tx HASH or --record FILE")
    checkpoint = read_checkpoint(checkpoint_file, log_key)
    expected: AnchorRecord | str
    if record is not None:
        try:
            expected = AnchorRecord.from_json(json.loads(record.read_text(encoding="utf-8")))
        except json.JSONDecodeError as error:
            raise CliError(f"{record}: not JSON ({error})") from None
    else:
        expected = str(tx)
    found = chain.verify_anchor(chain.connect(rpc), expected, checkpoint, sender=sender)
    if as_json:
        print_json({"ok": True, **found.to_json()})
    else:
        out.print(f"OK: {describe(found)}", markup=False, soft_wrap=True)


@app.command("list")
def list_(
    rpc: Rpc,
    from_block: Annotated[int, typer.Option("--from-block", min=0, help="The first block to read.")],
    to_block: Annotated[int | None, typer.Option("--to-block", min=0, help="The last (default: the latest).")] = None,
    sender: Annotated[str | None, typer.Option("--sender", help="Only anchors from this address.")] = None,
    as_json: AsJson = False,
) -> None:
    """List the dangol anchors in a range of blocks, found on the chain alone (reads every block)."""
    chain = adapter()
    web3 = chain.connect(rpc)
    last = chain.latest_block(web3) if to_block is None else to_block
    with count_progress("Reading blocks") as progress:
        task = progress.add_task("blocks", total=max(0, last - from_block + 1))
        found = chain.list_anchors(web3, from_block, last, sender=sender,
                                   on_block=lambda _: progress.advance(task))
    if as_json:
        print_json([anchor.to_json() for anchor in found])
        return
    for anchor in found:
        out.print(describe(anchor), markup=False, soft_wrap=True)
    err.print(f"{plural(len(found), 'anchor', 'anchors')} in blocks {from_block}..{last}.")
