"""The mirror's files across tile boundaries (tiles made small here): what is appended
reads back in order, and a run cut short is cut back to its checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from dangol.transparency import mirror as mirror_module
from dangol.transparency.audit import AuditError, audit
from dangol.transparency.mirror import Mirror, MirrorError

from .logs import synthetic


@pytest.fixture(autouse=True)
def small_tiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mirror_module, "TILE", 64)


def test_records_cross_tiles_and_cut_back(tmp_path: Path) -> None:
    log = synthetic(300, members=7)
    m = Mirror.create(tmp_path / "m", "http://log.example", log.key.vkey())
    m.append(log.records[:100])
    m.append(log.records[100:250])
    assert m.count() == 250
    assert sorted(p.name for p in (tmp_path / "m" / "entries").iterdir())[:2] == ["000000.jsonl", "000000.leaves"]
    assert list(m.records()) == log.records[:250]
    assert list(m.records(130)) == log.records[130:250]
    assert m.leaf_hashes(200) == [r.leaf_hash for r in log.records[:200]]
    m.save_checkpoint(log.signed(130), 130)  # cuts what the run added past its checkpoint
    assert m.count() == 130 and list(m.records()) == log.records[:130]
    assert m.checkpoint() == log.checkpoint(130) and len(m.history()) == 1
    m.append(log.records[130:300])
    assert audit(m.records(), log.checkpoint()).tree.root() == log.checkpoint().root_hash
    with pytest.raises(MirrorError, match="is not the next one"):
        m.append(log.records[10:11])


def test_a_line_lost_from_a_tile_is_named(tmp_path: Path) -> None:
    log = synthetic(200, members=7)
    m = Mirror.create(tmp_path / "m", "http://log.example", log.key.vkey())
    m.append(log.records)
    tile = tmp_path / "m" / "entries" / "000001.jsonl"
    tile.write_bytes(b"\n".join(tile.read_bytes().split(b"\n")[:-2]) + b"\n")  # its last entry
    with pytest.raises(AuditError) as caught:
        audit(m.records(), log.checkpoint())
    assert caught.value.index == 127 and "tile 1 holds 63 entries but 64 leaf records" in str(caught.value)
