"""`dangol anchor submit | verify | list`, as a user runs them. The chain is eth-tester's,
in process: `connect` is pointed at it instead of at a JSON-RPC URL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner, Result
from web3 import Web3

from dangol.anchoring import chain
from dangol.cli.main import app
from dangol.transparency import SignerKey

from cli.helpers import one_error_line  # tests/cli, on the path as pytest runs tests
from .conftest import signed, tree_head

RPC = "http://127.0.0.1:8545"  # never reached: connect is replaced


@pytest.fixture
def env(web3: Web3, account: LocalAccount, log_key: SignerKey, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(chain, "connect", lambda url: web3)
    return {"DANGOL_ANCHOR_KEY": account.key.hex(), "DANGOL_LOG_KEY": log_key.vkey(), "DANGOL_ANCHOR_RPC": RPC}


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(app, ["anchor", *args], env=env)


def write_checkpoint(path: Path, key: SignerKey, size: int = 100) -> Path:
    path.write_bytes(signed(tree_head(size), key))
    return path


def test_submit_then_verify(env: dict[str, str], web3: Web3, account: LocalAccount, log_key: SignerKey,
                            tmp_path: Path) -> None:
    checkpoint = write_checkpoint(tmp_path / "checkpoint", log_key)
    submitted = run(env, "submit", str(checkpoint))
    assert submitted.exit_code == 0, submitted.output
    record = json.loads(submitted.stdout)
    assert (record["origin"], record["size"], record["sender"]) == ("dangol.example/ledger", 100, account.address)
    assert record["block_number"] == web3.eth.block_number
    assert submitted.stderr.startswith("Anchored: dangol.example/ledger at tree size 100: transaction ")

    by_tx = run(env, "verify", str(checkpoint), "--tx", record["tx_hash"], "--sender", account.address)
    assert by_tx.exit_code == 0, by_tx.output
    assert by_tx.stdout.startswith(f"OK: dangol.example/ledger at tree size 100: transaction {record['tx_hash']}")
    (tmp_path / "record.json").write_text(submitted.stdout)
    by_record = run(env, "verify", str(checkpoint), "--record", str(tmp_path / "record.json"), "--json")
    assert by_record.exit_code == 0 and json.loads(by_record.stdout) == {"ok": True, **record}


def test_a_tampered_or_unsigned_checkpoint_fails_in_one_line(env: dict[str, str], log_key: SignerKey,
                                                             tmp_path: Path) -> None:
    record = json.loads(run(env, "submit", str(write_checkpoint(tmp_path / "real", log_key))).stdout)
    # Correctly signed by the log, but of another tree size than the one anchored.
    other = write_checkpoint(tmp_path / "other", log_key, size=101)
    failed = run(env, "verify", str(other), "--tx", record["tx_hash"])
    assert failed.exit_code == 2
    assert one_error_line(failed) == "error: the anchor is of tree size 100, not 101"

    forged = write_checkpoint(tmp_path / "forged", SignerKey.generate("dangol.example/ledger"))
    refused = run(env, "verify", str(forged), "--tx", record["tx_hash"])
    assert refused.exit_code == 2 and f"error: {forged}: " in one_error_line(refused)
    wrong_tx = run(env, "verify", str(tmp_path / "real"), "--tx", "0x" + "00" * 32)
    assert wrong_tx.exit_code == 2 and "there is no transaction 0x0000" in one_error_line(wrong_tx)


def test_submitting_twice_with_records_sends_once(env: dict[str, str], web3: Web3, log_key: SignerKey,
                                                  tmp_path: Path) -> None:
    checkpoint, records = write_checkpoint(tmp_path / "checkpoint", log_key), tmp_path / "anchors.jsonl"
    first = run(env, "submit", str(checkpoint), "--records", str(records))
    blocks = web3.eth.block_number
    second = run(env, "submit", str(checkpoint), "--records", str(records))
    assert second.exit_code == 0 and second.stderr.startswith("Already anchored: ")
    assert json.loads(second.stdout) == json.loads(first.stdout)
    assert web3.eth.block_number == blocks and len(records.read_text().splitlines()) == 1


def test_list_finds_the_anchors(env: dict[str, str], log_key: SignerKey, tmp_path: Path) -> None:
    hashes = [json.loads(run(env, "submit", str(write_checkpoint(tmp_path / f"c{size}", log_key, size))).stdout)
              ["tx_hash"] for size in (3, 7)]
    listed = run(env, "list", "--from-block", "0", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(a["tx_hash"], a["size"]) for a in json.loads(listed.stdout)] == list(zip(hashes, (3, 7)))
    text = run(env, "list", "--from-block", "0")
    assert text.stdout.count("dangol.example/ledger at tree size") == 2 and "2 anchors in blocks 0.." in text.stderr


def test_missing_key_and_unreachable_node_are_one_line_errors(log_key: SignerKey, tmp_path: Path) -> None:
    checkpoint = write_checkpoint(tmp_path / "checkpoint", log_key)
    env = {"DANGOL_LOG_KEY": log_key.vkey(), "DANGOL_ANCHOR_KEY": ""}
    no_key = run(env, "submit", str(checkpoint), "--rpc", RPC)
    assert no_key.exit_code == 2 and "set DANGOL_ANCHOR_KEY" in one_error_line(no_key)
    bad_key = run({**env, "DANGOL_ANCHOR_KEY": "secret-but-wrong"}, "submit", str(checkpoint), "--rpc", RPC)
    assert one_error_line(bad_key) == "error: the anchoring key is not a private key (64 hex digits)"
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    unreachable = run(env, "verify", str(checkpoint), "--rpc", "http://127.0.0.1:1", "--tx", "0x" + "00" * 32)
    assert one_error_line(unreachable) == "error: no Ethereum JSON-RPC node answers at http://127.0.0.1:1"


def test_without_web3_the_cli_says_how_to_install_it(log_key: SignerKey, tmp_path: Path) -> None:
    """As if the extra were not installed: web3 cannot be imported, the rest of dangol works."""
    script = ("import sys; sys.modules['web3'] = None\n"
              "from dangol.cli.main import app\n"
              "app(sys.argv[1:], prog_name='dangol')")
    env_args = ["--rpc", RPC, "--log-key", log_key.vkey(), "--tx", "0x" + "00" * 32]
    ran = subprocess.run([sys.executable, "-c", script, "anchor", "verify", "checkpoint", *env_args],
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    assert ran.stderr.strip() == ("error: anchoring needs web3.py, which is not installed: "
                                  "pip install 'dangol[anchor]'")
    helped = subprocess.run([sys.executable, "-c", script, "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "anchor" in helped.stdout
