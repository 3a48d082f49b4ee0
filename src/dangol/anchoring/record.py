"""How an anchor is described once it is on a chain, and its JSON form (what
`dangol anchor submit` prints and keeps, and `dangol anchor verify --record` reads)."""

from __future__ import annotations

import base64
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from ..transparency.checkpoint import Checkpoint
from .payload import AnchorError

_TX_HASH = re.compile(r"0x[0-9a-f]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HASH = re.compile(r"[0-9a-f]{64}")


def tx_hash_text(value: str) -> str:
    """A transaction hash as 0x and 64 lowercase hex digits; AnchorError otherwise
    (web3 would silently pad a short one into some other hash)."""
    text = value.strip().lower()
    if not text.startswith("0x"):
        text = "0x" + text
    if not _TX_HASH.fullmatch(text):
        raise AnchorError(f"{value!r} is not a transaction hash (0x and 64 hex digits)")
    return text


@dataclass(frozen=True)
class AnchorRecord:
    chain_id: int
    tx_hash: str        # 0x + 64 lowercase hex digits
    block_number: int
    block_time: int     # the block's timestamp, seconds since the epoch: the checkpoint existed by then
    sender: str         # the address that sent the anchor, EIP-55 checksummed
    payload_hash: str   # hex SHA-256 of the payload (payload.payload_hash)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "block_time_utc": self.block_time_utc()}

    def block_time_utc(self) -> str:
        return datetime.fromtimestamp(self.block_time, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    @classmethod
    def from_json(cls, value: Any) -> AnchorRecord:
        """Reads a record written by to_json; AnchorError naming the first bad field."""
        if not isinstance(value, dict):
            raise AnchorError("an anchor record is a JSON object")
        fields: dict[str, Any] = {}
        for name, kind in (("chain_id", int), ("tx_hash", str), ("block_number", int), ("block_time", int),
                           ("sender", str), ("payload_hash", str)):
            field = value.get(name)
            if not isinstance(field, kind) or isinstance(field, bool):
                raise AnchorError(f"the anchor record's {name} is missing or not a{'n integer' if kind is int else ' string'}")
            fields[name] = field
        fields["tx_hash"] = tx_hash_text(fields["tx_hash"])
        if not _ADDRESS.fullmatch(fields["sender"]):
            raise AnchorError("the anchor record's sender is not an address")
        if not _HASH.fullmatch(fields["payload_hash"]):
            raise AnchorError("the anchor record's payload_hash is not 64 lowercase hex digits")
        return cls(**fields)


@dataclass(frozen=True)
class ChainAnchor:
    """An anchor as read from the chain: where it is, and the tree head it names."""
    record: AnchorRecord
    checkpoint: Checkpoint

    def to_json(self) -> dict[str, Any]:
        return {**self.record.to_json(), "origin": self.checkpoint.origin, "size": self.checkpoint.size,
                "root_hash": base64.b64encode(self.checkpoint.root_hash).decode()}
