"""The anchor payload: its exact bytes, and reading it back strictly."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dangol.anchoring import AnchorError, anchor_payload, compare, parse_payload, payload_hash
from dangol.transparency import Checkpoint

ROOT = hashlib.sha256(b"root").digest()
HEAD = Checkpoint("dangol.example/ledger", 1234, ROOT)


def test_the_payload_is_the_version_line_then_origin_size_and_root() -> None:
    expected = b"dangol-checkpoint/v1\ndangol.example/ledger\n1234\n" + base64.b64encode(ROOT) + b"\n"
    assert anchor_payload(HEAD) == expected
    assert payload_hash(expected) == hashlib.sha256(expected).digest()


def test_extension_lines_are_not_anchored() -> None:
    with_extension = Checkpoint(HEAD.origin, HEAD.size, ROOT, ("timestamp 1700000000",))
    assert anchor_payload(with_extension) == anchor_payload(HEAD)


@given(origin=st.text(st.characters(min_codepoint=0x20, blacklist_categories=("Cs",)), min_size=1, max_size=40),
       size=st.integers(0, 2**64 - 1), root=st.binary(min_size=32, max_size=32))
def test_a_payload_reads_back_as_its_tree_head(origin: str, size: int, root: bytes) -> None:
    head = Checkpoint(origin, size, root)
    assert parse_payload(anchor_payload(head)) == head


@pytest.mark.parametrize("data", [
    b"", b"hello", b"dangol-checkpoint/v2\nlog\n1\n" + base64.b64encode(ROOT) + b"\n",
    b"dangol-checkpoint/v1\nlog\n01\n" + base64.b64encode(ROOT) + b"\n",            # leading zero
    b"dangol-checkpoint/v1\nlog\n1\n" + base64.b64encode(ROOT[:31]) + b"\n",         # short root
    b"dangol-checkpoint/v1\nlog\n1\n" + base64.b64encode(ROOT),                      # no final newline
    b"dangol-checkpoint/v1\nlog\n1\n" + base64.b64encode(ROOT) + b"\nextension\n",   # not anchored
    b"dangol-checkpoint/v1\n\xff\n1\n" + base64.b64encode(ROOT) + b"\n",             # not UTF-8
])
def test_anything_else_is_not_a_payload(data: bytes) -> None:
    with pytest.raises(AnchorError):
        parse_payload(data)


@pytest.mark.parametrize(("other", "says"), [
    (Checkpoint("other.example/log", 1234, ROOT), "of log 'dangol.example/ledger', not 'other.example/log'"),
    (Checkpoint(HEAD.origin, 1235, ROOT), "tree size 1234, not 1235"),
    (Checkpoint(HEAD.origin, 1234, bytes(32)), f"root hash {ROOT.hex()} differs"),
])
def test_compare_names_what_differs(other: Checkpoint, says: str) -> None:
    compare(HEAD, HEAD)
    with pytest.raises(AnchorError, match=says):
        compare(HEAD, other)
