"""The anchoring adapter: sends anchors to an Ethereum-compatible chain with web3.py,
reads them back and lists them. Needs the `anchor` extra.

An anchor is a plain zero-value transaction from the operator's account to
ANCHOR_ADDRESS whose data is the payload (payload.py). No contract: nothing to compile or
deploy, any EVM chain accepts it, and it costs the base 21,000 gas plus about 2,000 for
the data."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from eth_utils.exceptions import ValidationError as EthValidationError
from web3 import HTTPProvider, Web3
from web3.exceptions import TimeExhausted, TransactionNotFound, Web3Exception

from ..transparency.checkpoint import Checkpoint
from .payload import AnchorError, anchor_payload, compare, parse_payload, payload_hash
from .record import AnchorRecord, ChainAnchor, tx_hash_text

# Where anchors are sent: the first 20 bytes of SHA-256("dangol-checkpoint/v1"). Derived
# from a hash, so nobody holds its key, and fixed, so anyone can find every anchor ever
# sent (list_anchors) without knowing who sent them.
ANCHOR_ADDRESS = Web3.to_checksum_address("0x" + hashlib.sha256(b"dangol-checkpoint/v1").digest()[:20].hex())
RECEIPT_TIMEOUT = 120.0  # seconds to wait for the anchor to be mined


@contextmanager
def chain_errors(doing: str) -> Iterator[None]:
    """web3's errors (and eth-tester's, which raises its own) and lost connections as
    one-line AnchorErrors."""
    try:
        yield
    except AnchorError:
        raise
    except (Web3Exception, EthValidationError, OSError) as error:  # OSError: the connection (requests)
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise AnchorError(f"{doing}: {reason}") from None


def connect(url: str, timeout: float = 30.0) -> Web3:
    """A Web3 on the JSON-RPC node at `url` (http or https); AnchorError if it does not answer."""
    if not url.startswith(("http://", "https://")):
        raise AnchorError(f"the RPC URL must start with http:// or https://, not {url!r}")
    web3 = Web3(HTTPProvider(url, request_kwargs={"timeout": timeout}))
    if not web3.is_connected():
        raise AnchorError(f"no Ethereum JSON-RPC node answers at {url}")
    return web3


def load_account(private_key: str) -> LocalAccount:
    """The account of a hex private key. The message on failure never repeats the key."""
    try:
        # Typed here: eth-account's @combomethod decorator erases from_key's signature.
        account: LocalAccount = Account.from_key(private_key.strip())
        return account
    except Exception:  # eth-account raises ValueError, binascii.Error or its own types
        raise AnchorError("the anchoring key is not a private key (64 hex digits)") from None


class Anchor:
    """Anchors checkpoints from one account (which pays the gas)."""

    def __init__(self, web3: Web3, account: LocalAccount, *, address: str = ANCHOR_ADDRESS,
                 timeout: float = RECEIPT_TIMEOUT) -> None:
        self._web3 = web3
        self._account = account
        self._address = Web3.to_checksum_address(address)
        self._timeout = timeout

    def anchor(self, checkpoint: Checkpoint, known: Iterable[AnchorRecord] = ()) -> AnchorRecord:
        """Sends the checkpoint's payload and waits until it is mined. If one of the `known`
        records already anchors the same tree head on this chain and still verifies, returns
        it and sends nothing: anchoring again would only cost gas."""
        payload = anchor_payload(checkpoint)
        digest = payload_hash(payload).hex()
        with chain_errors("cannot anchor the checkpoint"):
            chain_id = self._web3.eth.chain_id
            for record in known:
                if record.chain_id == chain_id and record.payload_hash == digest:
                    try:
                        return verify_anchor(self._web3, record, checkpoint, address=self._address).record
                    except AnchorError:
                        pass  # dropped by a reorganisation, or never mined: anchor anew
            tx_hash = self._send(payload, chain_id)
            try:
                self._web3.eth.wait_for_transaction_receipt(tx_hash, timeout=self._timeout)
            except TimeExhausted:
                raise AnchorError(f"transaction {tx_hash} was sent but not mined within {self._timeout:g} s: "
                                  "verify it later with `dangol anchor verify --tx`") from None
        return read_anchor(self._web3, tx_hash, address=self._address).record

    def _send(self, payload: bytes, chain_id: int) -> HexStr:
        eth = self._web3.eth
        sender = self._account.address
        tx: dict[str, Any] = {"from": sender, "to": self._address, "value": 0, "data": payload,
                              "chainId": chain_id, "nonce": eth.get_transaction_count(sender, "pending")}
        base_fee = eth.get_block("latest").get("baseFeePerGas")
        if base_fee is None:  # a chain without EIP-1559
            tx["gasPrice"] = eth.gas_price
        else:  # room for the base fee to double before the transaction is mined
            tx["maxPriorityFeePerGas"] = eth.max_priority_fee
            tx["maxFeePerGas"] = 2 * base_fee + tx["maxPriorityFeePerGas"]
        # Checked before estimating gas, which on some nodes fails with a less clear message
        # when the account is empty. At most 40 gas a byte of data (EIP-7623's floor).
        most = (21_000 + 40 * len(payload)) * tx.get("maxFeePerGas", tx.get("gasPrice", 0))
        balance = eth.get_balance(sender)
        if balance < most:
            raise AnchorError(f"account {sender} holds {balance} wei, and the anchor may cost up to {most} wei")
        tx["gas"] = eth.estimate_gas(tx)  # type: ignore[arg-type]
        del tx["from"]
        signed = self._account.sign_transaction(tx)
        return HexStr("0x" + bytes(eth.send_raw_transaction(signed.raw_transaction)).hex())


def read_anchor(web3: Web3, tx_hash: str, *, address: str = ANCHOR_ADDRESS) -> ChainAnchor:
    """The anchor in transaction `tx_hash`, as the chain has it; AnchorError if that
    transaction does not exist, is not mined, failed, or is not a dangol anchor."""
    tx_hash = HexStr(tx_hash_text(tx_hash))
    eth = web3.eth
    with chain_errors(f"cannot read transaction {tx_hash}"):
        chain_id = eth.chain_id
        try:
            tx = eth.get_transaction(tx_hash)
        except TransactionNotFound:
            raise AnchorError(f"there is no transaction {tx_hash} on chain {chain_id}") from None
        if tx.get("blockNumber") is None:
            raise AnchorError(f"transaction {tx_hash} is not mined yet")
        if tx.get("to") is None or tx["to"].lower() != address.lower():
            raise AnchorError(f"transaction {tx_hash} is not a dangol anchor: it is not sent to {address}")
        data = bytes(tx["input"])
        try:
            checkpoint = parse_payload(data)
        except AnchorError as error:
            raise AnchorError(f"transaction {tx_hash}: {error}") from None
        if eth.get_transaction_receipt(tx_hash).get("status") != 1:
            raise AnchorError(f"transaction {tx_hash} failed on chain: it anchors nothing")
        block = eth.get_block(tx["blockNumber"])
    record = AnchorRecord(chain_id, tx_hash, tx["blockNumber"], block["timestamp"],
                          Web3.to_checksum_address(tx["from"]), payload_hash(data).hex())
    return ChainAnchor(record, checkpoint)


def verify_anchor(web3: Web3, record: AnchorRecord | str, checkpoint: Checkpoint, *, sender: str | None = None,
                  address: str = ANCHOR_ADDRESS) -> ChainAnchor:
    """Checks that the anchor `record` (or the transaction of that hash) is on this chain
    and names `checkpoint`'s tree head, and, if `sender` is given, that it was sent from
    that address. Returns the anchor as read back; raises AnchorError saying what differs."""
    tx_hash = record.tx_hash if isinstance(record, AnchorRecord) else record
    if isinstance(record, AnchorRecord):
        with chain_errors("cannot reach the chain"):
            chain_id = web3.eth.chain_id
        if record.chain_id != chain_id:
            raise AnchorError(f"the anchor is on chain {record.chain_id}, and this node serves chain {chain_id}")
    found = read_anchor(web3, tx_hash, address=address)
    compare(found.checkpoint, checkpoint)
    if isinstance(record, AnchorRecord) and found.record != record:
        differs = next(name for name in ("block_number", "block_time", "sender", "payload_hash")
                       if getattr(found.record, name) != getattr(record, name))
        raise AnchorError(f"the anchor's {differs} on chain is {getattr(found.record, differs)}, not "
                          f"{getattr(record, differs)} as recorded (the chain may have reorganised)")
    if sender is not None and found.record.sender.lower() != sender.strip().lower():
        raise AnchorError(f"the anchor was sent by {found.record.sender}, not {sender.strip()}")
    return found


def latest_block(web3: Web3) -> int:
    with chain_errors("cannot read the chain"):
        return web3.eth.block_number


def list_anchors(web3: Web3, from_block: int, to_block: int | None = None, *, sender: str | None = None,
                 address: str = ANCHOR_ADDRESS, on_block: Callable[[int], None] | None = None) -> list[ChainAnchor]:
    """Every dangol anchor mined in blocks `from_block`..`to_block` (default: the latest),
    oldest first, optionally only those sent by `sender`. Reads every block in the range
    (JSON-RPC has no index of transactions by recipient), calling `on_block` after each.
    Transactions to the anchor address that carry no valid payload, or failed, are skipped."""
    found: list[ChainAnchor] = []
    with chain_errors("cannot list anchors"):
        last = latest_block(web3) if to_block is None else to_block
        for number in range(from_block, last + 1):
            block = web3.eth.get_block(number, full_transactions=True)
            for tx in block["transactions"]:
                if isinstance(tx, bytes) or (tx.get("to") or "").lower() != address.lower():
                    continue
                if sender is not None and tx["from"].lower() != sender.strip().lower():
                    continue
                try:
                    found.append(read_anchor(web3, "0x" + bytes(tx["hash"]).hex(), address=address))
                except AnchorError:
                    pass  # someone else's data sent to the address: not an anchor
            if on_block is not None:
                on_block(number)
    return found
