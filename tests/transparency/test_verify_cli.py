"""`dangol verify` against a log over HTTP that a test controls (fakelog.py): an honest
log verifies, and a log that rewrites, rolls back or serves tampered entries is refused
with one FAILED line naming the first bad entry. Mirrors on disk tampered with are caught
by the audit."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dangol.cli.main import app
from dangol.transparency import SIG_COSIGNATURE_V1, SignerKey, leaf_hash, note
from dangol.transparency.mirror import Mirror

from .fakelog import FakeLog, b64, serving
from .logs import SignedLog, records_of, synthetic


def dangol(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def failed_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("FAILED: ")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.fixture(scope="module")
def log() -> SignedLog:
    return synthetic(2500, members=40)


@pytest.fixture
def key_file(tmp_path: Path, log: SignedLog) -> str:
    path = tmp_path / "log.vkey"
    path.write_text(log.key.vkey() + "\n")
    return str(path)


def test_mirror_incrementally_then_audit(tmp_path: Path, log: SignedLog, key_file: str) -> None:
    fake = FakeLog(log, size=1100)
    with serving(fake):
        first = dangol("verify", "mirror", fake.url, str(tmp_path / "m"), "--key", key_file)
        assert first.exit_code == 0, first.output
        assert "mirrored 1,100 new entries" in first.stdout
        fake.size = 2500
        second = dangol("verify", "mirror", fake.url, str(tmp_path / "m"))  # the key is the mirror's
        assert second.exit_code == 0, second.output
        assert "mirrored 1,400 new entries" in second.stdout
        again = dangol("verify", "mirror", fake.url, str(tmp_path / "m"))
        assert "mirrored 0 new entries" in again.stdout
    stored = Mirror(tmp_path / "m")
    assert stored.count() == 2500 and [r.entry for r in stored.records()] == [r.entry for r in log.records]
    assert len(stored.history()) == 2
    audited = dangol("verify", "audit", str(tmp_path / "m"), "--json")
    assert audited.exit_code == 0, audited.output
    books = json.loads(audited.stdout)["programs"]["market"]
    assert books["transactions"] == 2500 and len(books["members"]) == 40
    assert books["outstanding"] == sum(m["available"] + m["pending"] + m["held"] for m in books["members"].values())


def test_a_rewritten_history_re_signed_with_the_log_key_is_caught_at_its_first_entry(
        tmp_path: Path, log: SignedLog, key_file: str) -> None:
    fake = FakeLog(log, size=2000)
    with serving(fake):
        assert dangol("verify", "mirror", fake.url, str(tmp_path / "m"), "--key", key_file).exit_code == 0
        # The operator drops entry 700 and everything after it moves up; then signs a bigger tree.
        entries = [r.entry for r in log.records]
        fake.log = SignedLog(records_of(entries[:700] + entries[701:]), log.key)
        fake.size, fake.signed = 2400, {}
        result = dangol("verify", "mirror", fake.url, str(tmp_path / "m"))
    line = failed_line(result)
    assert line.startswith("FAILED: entry 700: the checkpoint of size 2400 does not extend the one of size 2000")
    assert Mirror(tmp_path / "m").count() == 2000  # the mirror keeps what it had


def changed_at(log: SignedLog, index: int) -> SignedLog:
    """The same log with entry `index` replaced by another, signed with the log's key."""
    entries = [r.entry for r in log.records]
    return SignedLog(records_of(entries[:index] + [entries[index + 1]] + entries[index + 1:]), log.key)


def test_a_rollback_names_the_first_entry_the_log_no_longer_has(tmp_path: Path, log: SignedLog,
                                                                key_file: str) -> None:
    fake = FakeLog(log, size=2000)
    with serving(fake):
        assert dangol("verify", "mirror", fake.url, str(tmp_path / "m"), "--key", key_file).exit_code == 0
        fake.size = 1500  # the first 1,500 entries as they were, the rest gone
        line = failed_line(dangol("verify", "mirror", fake.url, str(tmp_path / "m")))
        assert line.startswith("FAILED: entry 1500: rollback: the log is at size 1500, smaller than the 2000 "
                               "seen before; this is the first of the mirror's entries the log no longer has")
        fake.log, fake.signed = changed_at(log, 700), {}  # and entry 700 rewritten too
        line = failed_line(dangol("verify", "mirror", fake.url, str(tmp_path / "m")))
        assert line.startswith("FAILED: entry 700: rollback: the log is at size 1500")
    assert Mirror(tmp_path / "m").count() == 2000  # the mirror keeps what it had


def test_a_split_view_names_the_first_entry_that_differs(tmp_path: Path, log: SignedLog, key_file: str) -> None:
    fake = FakeLog(log, size=2000)
    with serving(fake):
        assert dangol("verify", "mirror", fake.url, str(tmp_path / "m"), "--key", key_file).exit_code == 0
        fake.log, fake.signed = changed_at(log, 1234), {}
        line = failed_line(dangol("verify", "mirror", fake.url, str(tmp_path / "m")))
    assert line.startswith("FAILED: entry 1234: split view: two different checkpoints of size 2000; this is the "
                           "first of the mirror's entries the log no longer has")
    assert Mirror(tmp_path / "m").checkpoint() == log.checkpoint(2000)


def test_a_log_serving_an_entry_that_is_not_in_its_tree_is_caught(tmp_path: Path, log: SignedLog,
                                                                    key_file: str) -> None:
    records = list(log.records)
    changed = records[321].entry.replace(b'"v":1', b'"v":1 ')
    records[321] = replace(records[321], entry=changed, leaf_hash=leaf_hash(changed))
    fake = FakeLog(log)
    fake.entries = SignedLog(records, log.key)  # the entries table edited, the stored tree not
    with serving(fake):
        line = failed_line(dangol("verify", "mirror", fake.url, str(tmp_path / "m"), "--key", key_file))
    assert line.startswith("FAILED: entry 321: ")


def mirrored(tmp_path: Path, log: SignedLog, key_file: str) -> Path:
    fake = FakeLog(log)
    with serving(fake):
        assert dangol("verify", "mirror", fake.url, str(tmp_path / "m"), "--key", key_file).exit_code == 0
    return tmp_path / "m"


def test_the_audit_pinpoints_an_edited_entry_in_a_mirror(tmp_path: Path, log: SignedLog, key_file: str) -> None:
    m = mirrored(tmp_path, log, key_file)
    tile = m / "entries" / "000000.jsonl"
    lines = tile.read_bytes().split(b"\n")
    lines[1234] = lines[1234].replace(b'"amount":', b'"amount":1', 1)
    tile.write_bytes(b"\n".join(lines))
    line = failed_line(dangol("verify", "audit", str(m)))
    assert line.startswith("FAILED: entry 1234: the leaf hash is not the hash of the entry's bytes")


def test_the_audit_pinpoints_a_deleted_entry_in_a_mirror(tmp_path: Path, log: SignedLog, key_file: str) -> None:
    m = mirrored(tmp_path, log, key_file)
    tile = m / "entries" / "000000.jsonl"
    lines = tile.read_bytes().split(b"\n")
    del lines[2000]
    tile.write_bytes(b"\n".join(lines))
    assert failed_line(dangol("verify", "audit", str(m))).startswith("FAILED: entry 2000: the leaf hash")


def test_the_audit_pinpoints_a_reordered_pair_in_a_mirror(tmp_path: Path, log: SignedLog, key_file: str) -> None:
    m = mirrored(tmp_path, log, key_file)
    tile, leaves = m / "entries" / "000000.jsonl", m / "entries" / "000000.leaves"
    lines = tile.read_bytes().split(b"\n")
    lines[600], lines[601] = lines[601], lines[600]
    tile.write_bytes(b"\n".join(lines))
    data = bytearray(leaves.read_bytes())
    data[600 * 40:601 * 40], data[601 * 40:602 * 40] = data[601 * 40:602 * 40], data[600 * 40:601 * 40]
    leaves.write_bytes(bytes(data))
    assert "does not have the signed root" in failed_line(dangol("verify", "audit", str(m)))
    with serving(FakeLog(log)) as fake:
        line = failed_line(dangol("verify", "audit", str(m), "--log", fake.url))
    assert line.startswith("FAILED: entry 600: "), line


def test_the_audit_uses_the_log_to_pinpoint_what_only_the_tree_shows(tmp_path: Path, log: SignedLog,
                                                                     key_file: str) -> None:
    """An entry and its stored leaf hash both edited in the mirror: only the tree tells, and
    the log's consistency proofs say where."""
    m = mirrored(tmp_path, log, key_file)
    tile, leaves = m / "entries" / "000000.jsonl", m / "entries" / "000000.leaves"
    lines = tile.read_bytes().split(b"\n")
    i = next(k for k in range(1800, 2500) if b'"idempotency_key":"k-' in lines[k])
    lines[i] = lines[i].replace(b'"idempotency_key":"k-', b'"idempotency_key":"K-')
    tile.write_bytes(b"\n".join(lines))
    data = bytearray(leaves.read_bytes())
    data[i * 40 + 8:(i + 1) * 40] = leaf_hash(lines[i])
    leaves.write_bytes(bytes(data))
    assert "does not have the signed root" in failed_line(dangol("verify", "audit", str(m)))
    with serving(FakeLog(log)) as fake:
        line = failed_line(dangol("verify", "audit", str(m), "--log", fake.url))
    assert line.startswith(f"FAILED: entry {i}: ")


def test_receipt_consistency_and_checkpoint(tmp_path: Path, log: SignedLog, key_file: str) -> None:
    fake = FakeLog(log, size=1000)
    record = log.records[777]
    with serving(fake):
        ok = dangol("verify", "checkpoint", fake.url, "--key", key_file, "--save", str(tmp_path / "old"))
        assert ok.exit_code == 0 and "at size 1,000" in ok.stdout, ok.output
        fake.size = 2500
        receipt = dangol("verify", "receipt", fake.url, "--key", key_file, "--sequence", str(record.sequence),
                         "--leaf-hash", b64(record.leaf_hash))
        assert receipt.exit_code == 0 and "the receipt is entry 777 of the log" in receipt.stdout, receipt.output
        wrong = dangol("verify", "receipt", fake.url, "--key", key_file, "--sequence", str(record.sequence),
                       "--leaf-hash", b64(log.records[778].leaf_hash))
        assert "another leaf at index 777" in failed_line(wrong)
        against_old = dangol("verify", "receipt", fake.url, "--key", key_file, "--index", "999",
                             "--leaf-hash", b64(log.records[999].leaf_hash), "--checkpoint", str(tmp_path / "old"))
        assert against_old.exit_code == 0, against_old.output
        extends = dangol("verify", "consistency", fake.url, "--key", key_file, "--old", str(tmp_path / "old"))
        assert extends.exit_code == 0 and "size 2,500 extends the one at size 1,000" in extends.stdout
        other = SignerKey.generate("dangol.example/log")
        assert "does not verify" in failed_line(dangol("verify", "checkpoint", fake.url, "--key", other.vkey()))
        witness = SignerKey.generate("w.example", SIG_COSIGNATURE_V1)
        short = dangol("verify", "checkpoint", fake.url, "--key", key_file, "--witness", witness.vkey(),
                       "--quorum", "1")
        assert "fewer than the quorum of 1" in failed_line(short)
        fake.signed[2500] = note.add_signatures(note.parse(fake.latest()), [witness]).encode()
        quorate = dangol("verify", "checkpoint", fake.url, "--key", key_file, "--witness", witness.vkey(),
                         "--quorum", "1")
        assert quorate.exit_code == 0 and "cosigned by 1 of the 1 witnesses" in quorate.stdout


def test_bad_input_is_one_error_line(tmp_path: Path, key_file: str) -> None:
    no_key = dangol("verify", "checkpoint", "http://127.0.0.1:9")
    assert no_key.exit_code == 2 and no_key.stderr.startswith("error: --key is required")
    unreachable = dangol("verify", "checkpoint", "http://127.0.0.1:9", "--key", key_file)
    assert unreachable.exit_code == 2 and "cannot reach the log" in unreachable.stderr
    assert len(unreachable.stderr.splitlines()) == 1
    not_a_mirror = dangol("verify", "audit", str(tmp_path))
    assert not_a_mirror.exit_code == 1 and "is not a log mirror" in not_a_mirror.stdout
