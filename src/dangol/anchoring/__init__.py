"""Optional anchoring of checkpoints to an Ethereum-compatible chain: a
transaction whose data is a fixed-format payload naming a checkpoint's origin, tree size
and root hash, so that a log that later stops answering, or rewrites its history, has
left a public, timestamped trace of what it had signed.

`payload` and `record` are pure (standard library and the transparency core): the part
that says what is anchored and how an anchor is described. `chain` is the adapter that
talks to a chain with web3.py; it needs the `anchor` extra (`pip install 'dangol[anchor]'`),
so it is not imported here. See docs/transparency.md, "Anchoring"."""

from .payload import MAGIC, AnchorError, anchor_payload, compare, parse_payload, payload_hash
from .record import AnchorRecord, ChainAnchor

__all__ = ["MAGIC", "AnchorError", "AnchorRecord", "ChainAnchor", "anchor_payload", "compare", "parse_payload",
           "payload_hash"]
