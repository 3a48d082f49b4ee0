"""Anchoring checkpoints on an in-process chain (eth-tester, py-evm): send, read back,
verify, refuse what does not match, list."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from dangol.anchoring import AnchorError, anchor_payload, payload_hash
from dangol.anchoring.chain import ANCHOR_ADDRESS, Anchor, list_anchors, load_account, read_anchor, verify_anchor

from .conftest import tree_head


def test_an_anchored_checkpoint_verifies(web3: Web3, account: LocalAccount) -> None:
    head = tree_head(1000)
    record = Anchor(web3, account).anchor(head)

    tx = web3.eth.get_transaction(record.tx_hash)  # type: ignore[arg-type]
    assert bytes(tx["input"]) == anchor_payload(head)
    assert tx["to"] == ANCHOR_ADDRESS and tx["value"] == 0 and tx["from"] == account.address
    assert record.chain_id == web3.eth.chain_id
    assert record.block_number == tx["blockNumber"] == web3.eth.block_number
    assert record.block_time == web3.eth.get_block(record.block_number)["timestamp"]
    assert record.sender == account.address
    assert record.payload_hash == payload_hash(anchor_payload(head)).hex()

    found = verify_anchor(web3, record, head, sender=account.address)
    assert found.record == record and found.checkpoint == head
    assert verify_anchor(web3, record.tx_hash, head).record == record  # by transaction hash alone


@pytest.mark.parametrize(("tampered", "says"), [
    (tree_head(1000, "other.example/log"), "of log 'dangol.example/ledger', not 'other.example/log'"),
    (tree_head(1001), "tree size 1000, not 1001"),
    (dataclasses.replace(tree_head(1000), root_hash=tree_head(999).root_hash), "root hash .* differs"),
])
def test_a_tampered_checkpoint_fails_verification(web3: Web3, account: LocalAccount, tampered: object,
                                                  says: str) -> None:
    record = Anchor(web3, account).anchor(tree_head(1000))
    with pytest.raises(AnchorError, match=says):
        verify_anchor(web3, record, tampered)  # type: ignore[arg-type]


def test_a_wrong_transaction_hash_fails_cleanly(web3: Web3, account: LocalAccount) -> None:
    head = tree_head(10)
    record = Anchor(web3, account).anchor(head)
    unknown = "0x" + "ab" * 32
    with pytest.raises(AnchorError, match=f"there is no transaction {unknown} on chain {record.chain_id}"):
        verify_anchor(web3, dataclasses.replace(record, tx_hash=unknown), head)
    with pytest.raises(AnchorError, match="is not a transaction hash"):
        verify_anchor(web3, "0x1234", head)  # web3 would pad it into some other hash
    # A real transaction that is not an anchor: the one that funded the account.
    funding = "0x" + bytes(web3.eth.get_block(1)["transactions"][0]).hex()  # type: ignore[arg-type]
    with pytest.raises(AnchorError, match="is not a dangol anchor"):
        verify_anchor(web3, funding, head)


def test_a_record_that_disagrees_with_the_chain_fails(web3: Web3, account: LocalAccount) -> None:
    head = tree_head(10)
    record = Anchor(web3, account).anchor(head)
    with pytest.raises(AnchorError, match=f"the anchor is on chain 1, and this node serves chain {record.chain_id}"):
        verify_anchor(web3, dataclasses.replace(record, chain_id=1), head)
    with pytest.raises(AnchorError, match=f"block_number on chain is {record.block_number}, not 1 as recorded"):
        verify_anchor(web3, dataclasses.replace(record, block_number=1), head)
    stranger = Account.create().address
    with pytest.raises(AnchorError, match=f"sent by {account.address}, not {stranger}"):
        verify_anchor(web3, record, head, sender=stranger)


def test_data_sent_to_the_anchor_address_that_is_no_payload_is_not_an_anchor(web3: Web3) -> None:
    junk = web3.eth.send_transaction({"from": web3.eth.accounts[0], "to": ANCHOR_ADDRESS, "value": 0,
                                      "data": b"dangol-checkpoint/v1\nnot a checkpoint\n"})
    with pytest.raises(AnchorError, match="the anchor payload is malformed"):
        read_anchor(web3, "0x" + bytes(junk).hex())
    assert list_anchors(web3, 0) == []


def test_anchoring_a_known_checkpoint_again_sends_nothing(web3: Web3, account: LocalAccount) -> None:
    anchor = Anchor(web3, account)
    first = anchor.anchor(tree_head(10))
    blocks = web3.eth.block_number
    assert anchor.anchor(tree_head(10), known=[first]) == first
    assert web3.eth.block_number == blocks
    # A record the chain does not have (here: from another chain's history) is anchored anew.
    lost = dataclasses.replace(first, tx_hash="0x" + "cd" * 32)
    again = anchor.anchor(tree_head(10), known=[lost])
    assert again.tx_hash != first.tx_hash and again.block_number == blocks + 1


def test_anchors_are_listed_from_the_chain_alone(web3: Web3, account: LocalAccount) -> None:
    other = Account.create()
    web3.eth.wait_for_transaction_receipt(
        web3.eth.send_transaction({"from": web3.eth.accounts[0], "to": other.address, "value": 10**18}))
    ours = [Anchor(web3, account).anchor(tree_head(size)) for size in (5, 8)]
    theirs = Anchor(web3, other).anchor(tree_head(3, "other.example/log"))

    found = list_anchors(web3, 0)
    assert [a.record for a in found] == [*ours, theirs]
    assert [(a.checkpoint.origin, a.checkpoint.size) for a in found] == [
        ("dangol.example/ledger", 5), ("dangol.example/ledger", 8), ("other.example/log", 3)]
    assert [a.record for a in list_anchors(web3, 0, sender=account.address)] == ours
    assert [a.record for a in list_anchors(web3, ours[1].block_number, ours[1].block_number)] == [ours[1]]


def test_an_account_without_funds_anchors_nothing(web3: Web3) -> None:
    blocks = web3.eth.block_number
    poor = Account.create()
    with pytest.raises(AnchorError, match=f"account {poor.address} holds 0 wei, and the anchor may cost up to"):
        Anchor(web3, poor).anchor(tree_head(10))
    assert web3.eth.block_number == blocks


def test_a_bad_key_is_refused_without_being_repeated() -> None:
    assert load_account("0x" + "11" * 32).address == Account.from_key("11" * 32).address
    with pytest.raises(AnchorError, match="not a private key") as error:
        load_account("0xnot-a-key-42")
    assert "not-a-key-42" not in str(error.value)
