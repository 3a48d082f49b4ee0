"""An in-process chain (eth-tester on py-evm, no network), a funded anchoring account,
and a log that signs checkpoints."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import EthereumTesterProvider, Web3

from dangol.transparency import Checkpoint, SignerKey, leaf_hash, mth, sign_checkpoint

ORIGIN = "dangol.example/ledger"


@pytest.fixture
def web3() -> Web3:
    return Web3(EthereumTesterProvider())


@pytest.fixture
def account(web3: Web3) -> LocalAccount:
    """A fresh key (as an operator would configure), funded by the tester's own account."""
    operator = Account.create()
    funding = web3.eth.send_transaction({"from": web3.eth.accounts[0], "to": operator.address, "value": 10**18})
    web3.eth.wait_for_transaction_receipt(funding)
    return operator


@pytest.fixture(scope="session")
def log_key() -> SignerKey:
    return SignerKey.generate(ORIGIN)


def tree_head(size: int, origin: str = ORIGIN) -> Checkpoint:
    return Checkpoint(origin, size, mth([leaf_hash(b"entry %d" % i) for i in range(size)]))


def signed(checkpoint: Checkpoint, key: SignerKey) -> bytes:
    return sign_checkpoint(checkpoint, [key])
