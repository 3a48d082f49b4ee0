"""Checkpoints and witness cosignatures."""

from __future__ import annotations

import pytest

from dangol.transparency import cosignature, note
from dangol.transparency.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from dangol.transparency.keys import SIG_COSIGNATURE_V1, SignerKey
from dangol.transparency.merkle import MemoryNodeStore, MerkleTree
from dangol.transparency.note import NoteError
from dangol.transparency.proofs import leaf_hash, verify_consistency

# c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature: the example checkpoint, with
# the log's signature and a witness cosignature (whose keys the specs do not publish).
SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE"
    "+xeMcTOAYQ8=\n"
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0x"
    "Ue+mbIUBkBIfZ+qnA==\n")
ORIGIN = "dangol.example/ledger"
NOW = 1_700_000_000


def test_the_spec_example_parses() -> None:
    parsed = note.parse(SPEC_CHECKPOINT)
    checkpoint = Checkpoint.parse(parsed.text)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.body() == parsed.text
    log, witness = parsed.signatures
    assert log.name == "example.com/behind-the-sofa" and len(log.signature) == 64
    # The cosignature spec's example signed message is stamped "time 1679315147".
    assert witness.name == "witness.example.com/w1"
    assert cosignature.timestamp(witness) == 1679315147
    assert parsed.encode().decode() == SPEC_CHECKPOINT


@pytest.fixture(scope="module")
def log() -> SignerKey:
    return SignerKey.generate(ORIGIN)


@pytest.fixture(scope="module")
def witnesses() -> list[SignerKey]:
    return [SignerKey.generate(f"witness.example/w{i}", SIG_COSIGNATURE_V1, clock=lambda: NOW) for i in range(3)]


def checkpoint_of(size: int) -> tuple[MerkleTree, Checkpoint]:
    tree = MerkleTree(MemoryNodeStore())
    tree.append([leaf_hash(b"tx %d" % i) for i in range(size)])
    return tree, Checkpoint(ORIGIN, tree.size, tree.root(), ("dangol-extension line",))


def test_sign_and_open_a_checkpoint(log: SignerKey) -> None:
    _, checkpoint = checkpoint_of(11)
    opened = open_checkpoint(sign_checkpoint(checkpoint, [log]), log.verifier())
    assert opened.checkpoint == checkpoint
    assert opened.cosignatures == ()


def test_cosignature_round_trip_and_quorum(log: SignerKey, witnesses: list[SignerKey]) -> None:
    _, checkpoint = checkpoint_of(5)
    signed = sign_checkpoint(checkpoint, [log])
    cosigned = note.add_signatures(note.parse(signed), witnesses[:2]).encode()  # witnesses add their lines
    verifiers = [w.verifier() for w in witnesses]
    opened = open_checkpoint(cosigned, log.verifier(), witnesses=verifiers, quorum=2)
    assert [(c.name, c.timestamp) for c in opened.cosignatures] == [(w.name, NOW) for w in witnesses[:2]]
    with pytest.raises(NoteError, match="quorum"):
        open_checkpoint(cosigned, log.verifier(), witnesses=verifiers, quorum=3)


def test_a_cosignature_signs_the_timestamped_message(witnesses: list[SignerKey]) -> None:
    body = checkpoint_of(3)[1].body().encode()
    sig = witnesses[0].sign(body)
    timestamp, ed25519 = cosignature.decode(sig)
    assert timestamp == NOW
    message = b"cosignature/v1\ntime 1700000000\n" + body
    witnesses[0].private_key.public_key().verify(ed25519, message)  # raises if not
    # A plain Ed25519 (0x01) key of the same name and key material is another key.
    assert witnesses[0].verifier().key_id != SignerKey(witnesses[0].name, 0x01, witnesses[0].private_key).key_id


def test_a_tampered_cosignature_timestamp_is_refused(log: SignerKey, witnesses: list[SignerKey]) -> None:
    _, checkpoint = checkpoint_of(5)
    body = checkpoint.body().encode()
    sig = witnesses[0].sign(body)
    moved = (NOW + 1).to_bytes(8, "big") + sig[8:]
    assert witnesses[0].verifier().verify(body, sig)
    assert not witnesses[0].verifier().verify(body, moved)
    assert not witnesses[0].verifier().verify(body, sig[:-1])


def test_the_log_signature_is_required(log: SignerKey, witnesses: list[SignerKey]) -> None:
    _, checkpoint = checkpoint_of(5)
    only_witness = sign_checkpoint(checkpoint, [witnesses[0]])
    with pytest.raises(NoteError):
        open_checkpoint(only_witness, log.verifier(), witnesses=[witnesses[0].verifier()])


def test_the_origin_must_be_the_expected_log(log: SignerKey) -> None:
    tree, _ = checkpoint_of(5)
    other = Checkpoint("someone.else/log", tree.size, tree.root())
    with pytest.raises(NoteError, match="not"):
        open_checkpoint(sign_checkpoint(other, [log]), log.verifier())


def test_two_checkpoints_and_a_consistency_proof(log: SignerKey) -> None:
    """What an auditor does with two checkpoints of the same log."""
    tree, _ = checkpoint_of(20)
    old = open_checkpoint(sign_checkpoint(Checkpoint(ORIGIN, 13, tree.root(13)), [log]), log.verifier()).checkpoint
    new = open_checkpoint(sign_checkpoint(Checkpoint(ORIGIN, 20, tree.root(20)), [log]), log.verifier()).checkpoint
    verify_consistency(old.size, new.size, old.root_hash, new.root_hash, tree.consistency_proof(13, 20))


@pytest.mark.parametrize("body", [
    "origin\n5\n",  # no root hash
    "\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # empty origin
    "origin\n05\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # leading zero
    "origin\n-5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    "origin\n+5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    "origin\n18446744073709551616\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # 2^64
    "origin\n5\nAAAA\n",  # not 32 bytes
    "origin\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",  # unpadded
    "origin\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # no final newline
    "origin\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",  # empty extension line
])
def test_malformed_checkpoints_are_refused(body: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(body)


def test_checkpoint_size_zero_and_extensions_round_trip() -> None:
    empty = Checkpoint.parse("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next 1\next 2\n")
    assert empty.size == 0 and empty.extensions == ("ext 1", "ext 2")
    assert Checkpoint.parse(empty.body()) == empty
