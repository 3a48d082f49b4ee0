"""A mirror of a log on disk: the entries as the log served them, and the checkpoints
they were verified against. The one module of the transparency core that touches files
(standard library only), so that an auditor's copy of the log can be read without dangol.

    <dir>/mirror.json          {"format": "dangol-log-mirror/1", "log": <URL>, "key": <log vkey>}
    <dir>/checkpoint           the latest checkpoint the entries were verified against (signed note)
    <dir>/checkpoints/<size>   every checkpoint verified so far, by tree size
    <dir>/entries/<tile>.jsonl the entries of tile t (indexes t·65536 … t·65536 + 65535), one
                               per line: exactly the entry's bytes (canonical JSON never holds a
                               raw newline), then "\\n"
    <dir>/entries/<tile>.leaves per entry of the tile, 40 bytes: the sequence number (8 bytes,
                               big-endian) and the leaf hash as the log served it (32 bytes)

`<tile>` is the tile number in six decimal digits (000000, 000001, …). Only the last tile
is partial. The entries may run past the checkpoint's size if a mirror run stopped midway:
readers stop at the checkpoint, and the next run cuts them off before it resumes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from .audit import AuditError, Record
from .checkpoint import Checkpoint
from .note import parse

FORMAT = "dangol-log-mirror/1"
TILE = 1 << 16
LEAF_RECORD = 40


class MirrorError(ValueError):
    """A directory that is not a (consistent) mirror."""


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Mirror:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        meta = self.root / "mirror.json"
        if not meta.is_file():
            raise MirrorError(f"{self.root} is not a log mirror (no mirror.json)")
        info = json.loads(meta.read_text())
        if info.get("format") != FORMAT:
            raise MirrorError(f"{self.root}: mirror format {info.get('format')!r} is not {FORMAT}")
        self.log: str = info["log"]
        self.key: str = info["key"]

    @classmethod
    def create(cls, root: Path, log: str, key: str) -> Mirror:
        root = Path(root)
        (root / "entries").mkdir(parents=True, exist_ok=True)
        (root / "checkpoints").mkdir(exist_ok=True)
        _write_atomically(root / "mirror.json", json.dumps({"format": FORMAT, "log": log, "key": key},
                                                           indent=2).encode() + b"\n")
        return cls(root)

    # ------------------------------------------------------------------ checkpoints

    def signed_checkpoint(self) -> bytes | None:
        path = self.root / "checkpoint"
        return path.read_bytes() if path.is_file() else None

    def checkpoint(self) -> Checkpoint | None:
        """The latest checkpoint's body, unverified (open_checkpoint verifies it)."""
        signed = self.signed_checkpoint()
        return None if signed is None else Checkpoint.parse(parse(signed).text)

    def history(self) -> list[bytes]:
        """Every checkpoint kept, as signed notes, by size."""
        folder = self.root / "checkpoints"
        paths = sorted((p for p in folder.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
        return [p.read_bytes() for p in paths]

    def save_checkpoint(self, signed: bytes, size: int) -> None:
        """Called once the entries up to `size` are written and verified against it."""
        self.cut(size)
        _write_atomically(self.root / "checkpoints" / str(size), signed)
        _write_atomically(self.root / "checkpoint", signed)

    # ------------------------------------------------------------------ entries

    def _tile(self, tile: int, ext: str) -> Path:
        return self.root / "entries" / f"{tile:06d}.{ext}"

    def count(self) -> int:
        """How many entries are stored (leaf records), checkpoint or not."""
        tiles = sorted(self.root.glob("entries/*.leaves"))
        if not tiles:
            return 0
        return (len(tiles) - 1) * TILE + tiles[-1].stat().st_size // LEAF_RECORD

    def append(self, records: list[Record]) -> None:
        """Appends consecutive records, starting at `count()`."""
        n = self.count()
        i = 0
        while i < len(records):
            tile, offset = divmod(n + i, TILE)
            chunk = records[i:i + TILE - offset]
            lines = bytearray()
            leaves = bytearray()
            for r in chunk:
                if r.index != n + i + len(leaves) // LEAF_RECORD:
                    raise MirrorError(f"entry {r.index} is not the next one")
                if b"\n" in r.entry:
                    raise MirrorError(f"entry {r.index} holds a raw newline: it is not canonical JSON")
                lines += r.entry + b"\n"
                leaves += r.sequence.to_bytes(8, "big") + r.leaf_hash
            with open(self._tile(tile, "jsonl"), "ab") as f:
                f.write(lines)
            with open(self._tile(tile, "leaves"), "ab") as f:
                f.write(leaves)
            i += len(chunk)

    def cut(self, size: int) -> None:
        """Drops entries past `size` (those of a run that stopped before its checkpoint)."""
        n = self.count()
        if n < size:
            raise MirrorError(f"the mirror holds {n} entries, fewer than {size}")
        for tile in range(size // TILE, (n - 1) // TILE + 1 if n else 0):
            keep = max(0, size - tile * TILE)
            entries, leaves = self._tile(tile, "jsonl"), self._tile(tile, "leaves")
            if keep == 0:
                entries.unlink(missing_ok=True)
                leaves.unlink(missing_ok=True)
                continue
            data = entries.read_bytes()
            cut_at = -1
            for _ in range(keep):
                cut_at = data.index(b"\n", cut_at + 1)
            with open(entries, "r+b") as f:
                f.truncate(cut_at + 1)
            with open(leaves, "r+b") as f:
                f.truncate(keep * LEAF_RECORD)

    def leaf_hashes(self, size: int) -> list[bytes]:
        """The first `size` leaf hashes, as stored (for rebuilding the tree quickly)."""
        hashes: list[bytes] = []
        for tile in range((size + TILE - 1) // TILE):
            data = self._tile(tile, "leaves").read_bytes()
            take = min(TILE, size - tile * TILE)
            hashes += [data[k + 8:k + LEAF_RECORD] for k in range(0, take * LEAF_RECORD, LEAF_RECORD)]
        if len(hashes) != size:
            raise MirrorError(f"the mirror holds {len(hashes)} leaf hashes, fewer than {size}")
        return hashes

    def records(self, start: int = 0) -> Iterator[Record]:
        """Every stored entry from `start`, in order, each line paired with its leaf record:
        a line removed or added shows up as a leaf hash that does not match from there on."""
        tile = start // TILE
        while True:
            entries, leaves = self._tile(tile, "jsonl"), self._tile(tile, "leaves")
            if not leaves.is_file():
                return
            lines = entries.read_bytes().split(b"\n") if entries.is_file() else [b""]
            lines.pop()  # after the last newline: empty, or a line cut short (then unpaired)
            data = leaves.read_bytes()
            count = min(len(lines), len(data) // LEAF_RECORD)
            base = tile * TILE
            for k in range(max(0, start - base), count):
                at = k * LEAF_RECORD
                yield Record(base + k, int.from_bytes(data[at:at + 8], "big"), data[at + 8:at + LEAF_RECORD], lines[k])
            if len(lines) != len(data) / LEAF_RECORD:
                raise AuditError(f"tile {tile} holds {len(lines)} entries but {len(data) / LEAF_RECORD:g} leaf records",
                                 base + count)
            if count < TILE:
                return
            tile += 1
