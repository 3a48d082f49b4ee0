"""A witness cosigns a log that only grows, and raises the alarm, keeping its state, on a
split view, a rollback or a rewritten history; `dangol witness` does it over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dangol.cli.main import app
from dangol.transparency import SIG_COSIGNATURE_V1, SignerKey, VerifierKey, open_checkpoint
from dangol.transparency.witness import Witness, WitnessRefusal

from .fakelog import FakeLog, serving
from .logs import SignedLog, records_of, synthetic


@pytest.fixture(scope="module")
def log() -> SignedLog:
    return synthetic(600, members=10)


@pytest.fixture
def signer() -> SignerKey:
    return SignerKey.generate("witness.example/w1", SIG_COSIGNATURE_V1, clock=lambda: 1_800_000_000)


def forked(log: SignedLog, at: int) -> SignedLog:
    """The same log with entry `at` removed: a rewritten history signed with the log's key."""
    entries = [r.entry for r in log.records]
    return SignedLog(records_of(entries[:at] + entries[at + 1:]), log.key)


def test_a_growing_log_is_cosigned_and_remembered(log: SignedLog, signer: SignerKey) -> None:
    w = Witness(log.key.verifier(), signer)
    cosigned, w = w.cosign(log.signed(100))
    opened = open_checkpoint(cosigned, log.key.verifier(), witnesses=[signer.verifier()], quorum=1)
    assert opened.cosignatures[0].timestamp == 1_800_000_000
    assert w.needs_proof(log.checkpoint(500)) == (100, 500)
    _, w = w.cosign(log.signed(500), log.tree().consistency_proof(100, 500))
    assert w.state is not None and w.state.checkpoint == log.checkpoint(500)
    again, same = w.cosign(log.signed(500))
    assert same.state == w.state and again != log.signed(500)


@pytest.mark.parametrize("case", ["split view", "rollback", "rewrite"])
def test_two_histories_raise_the_alarm_and_change_nothing(log: SignedLog, signer: SignerKey, case: str) -> None:
    _, w = Witness(log.key.verifier(), signer).cosign(log.signed(400))
    fork = forked(log, 123)
    with pytest.raises(WitnessRefusal) as refusal:
        if case == "split view":
            w.cosign(fork.signed(400))
        elif case == "rollback":
            w.cosign(log.signed(300))
        else:
            w.cosign(fork.signed(550), fork.tree().consistency_proof(400, 550))
    assert refusal.value.alarm and case.split()[0] in str(refusal.value).replace("does not extend", "rewrite")
    assert w.state is not None and w.state.checkpoint == log.checkpoint(400)


def test_a_checkpoint_the_log_did_not_sign_is_refused_without_alarm(log: SignedLog, signer: SignerKey) -> None:
    impostor = SignedLog(log.records, SignerKey.generate(log.key.name))
    with pytest.raises(WitnessRefusal) as refusal:
        Witness(log.key.verifier(), signer).cosign(impostor.signed(100))
    assert not refusal.value.alarm


def witness(fake: FakeLog, tmp_path: Path, signer: SignerKey, log: SignedLog) -> Result:
    key = tmp_path / "witness.key"
    key.write_text(signer.encode())
    return CliRunner().invoke(app, ["witness", fake.url, "--log-key", log.key.vkey(), "--key", str(key),
                                    "--state", str(tmp_path / "state"), "--once"])


def test_the_witness_command_cosigns_and_posts(tmp_path: Path, log: SignedLog, signer: SignerKey) -> None:
    fake = FakeLog(log, size=200)
    with serving(fake):
        first = witness(fake, tmp_path, signer, log)
        assert first.exit_code == 0 and "cosigned dangol.example/log at size 200" in first.stdout, first.output
        assert fake.cosignatures_by(signer.name) == 1
        quiet = witness(fake, tmp_path, signer, log)  # nothing new: nothing posted
        assert quiet.exit_code == 0 and fake.cosignatures_by(signer.name) == 1
        fake.size = 600
        assert witness(fake, tmp_path, signer, log).exit_code == 0
    assert fake.cosignatures_by(signer.name) == 2
    state = (tmp_path / "state").read_bytes()
    assert open_checkpoint(state, VerifierKey.parse(log.key.vkey())).checkpoint.size == 600


@pytest.mark.parametrize("case", ["split view", "rollback", "rewrite", "old checkpoint changed"])
def test_the_witness_command_alarms_and_keeps_its_state(tmp_path: Path, log: SignedLog, signer: SignerKey,
                                                        case: str) -> None:
    fake = FakeLog(log, size=400)
    with serving(fake):
        assert witness(fake, tmp_path, signer, log).exit_code == 0
        before = (tmp_path / "state").read_bytes()
        fork = forked(log, 50)
        if case == "rollback":
            fake.size = 300
        else:
            fake.log, fake.signed = fork, {}
            fake.size = 400 if case == "split view" else 590
            if case == "old checkpoint changed":
                # The new tree is served with proofs that hold, but the log now signs
                # another checkpoint for the size the witness cosigned.
                fake.latest()
                fake.signed[400] = fork.signed(400)
        result = witness(fake, tmp_path, signer, log)
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("ALARM: ") and len(result.stderr.splitlines()) == 1
    assert (tmp_path / "state").read_bytes() == before
    assert fake.cosignatures_by(signer.name) == 1


def test_a_witness_key_is_made_by_keygen_and_cosigns(tmp_path: Path, log: SignedLog) -> None:
    key = tmp_path / "w1.key"
    made = CliRunner().invoke(app, ["witness", "keygen", "witness.example/w1", "--key", str(key)])
    assert made.exit_code == 0, made.output
    vkey = made.stdout.strip()
    signer = SignerKey.parse(key.read_text().strip())
    assert (key.stat().st_mode & 0o777) == 0o600 and signer.sig_type == SIG_COSIGNATURE_V1
    assert vkey == signer.vkey() and VerifierKey.parse(vkey).name == "witness.example/w1"
    fake = FakeLog(log, size=100)
    with serving(fake):
        followed = CliRunner().invoke(app, ["witness", "follow", fake.url, "--log-key", log.key.vkey(), "--key",
                                            str(key), "--state", str(tmp_path / "state"), "--once"])
    assert followed.exit_code == 0, followed.output
    opened = open_checkpoint(fake.signed[100], log.key.verifier(), witnesses=[VerifierKey.parse(vkey)], quorum=1)
    assert opened.checkpoint.size == 100


def test_keygen_never_replaces_a_key(tmp_path: Path) -> None:
    key = tmp_path / "w1.key"
    assert CliRunner().invoke(app, ["witness", "keygen", "witness.example/w1", "--key", str(key)]).exit_code == 0
    before = key.read_bytes()
    again = CliRunner().invoke(app, ["witness", "keygen", "witness.example/w1", "--key", str(key)])
    assert again.exit_code == 2 and again.stderr == f"error: {key} exists: a witness keeps its key (remove the file " \
                                                    "to make a new one)\n"
    assert key.read_bytes() == before
    bad = CliRunner().invoke(app, ["witness", "keygen", "no spaces please", "--key", str(tmp_path / "w2.key")])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: 'no spaces please' cannot name a key")
    assert not (tmp_path / "w2.key").exists()
