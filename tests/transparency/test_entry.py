"""The log's leaf format: fixed bytes and hashes (worked out once, and checked outside
Python with `openssl dgst -sha256 -mac HMAC` and `sha256sum`), and strict decoding."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dangol.transparency import leaf_hash
from dangol.transparency.entry import (
    EntryError, LotEntry, MoneyEntry, MovementEntry, PostingEntry, RulesetEntry, TransactionEntry, _transaction_json,
    decode, encode, member_commitment, stated_version,
)

KEY = bytes(range(32))
# printf 'dangol/member/v1\nacme\nm_1' | openssl dgst -sha256 -mac HMAC -macopt hexkey:000102…1e1f
COMMITMENT = "92dd5c1c92af3cc898c7cc0ec82b8e03917907b494272948c5e68dfe78f6605d"
AT = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)

EARN = TransactionEntry(
    program="acme", id=7, kind="earn", occurred_at=AT,
    postings=(PostingEntry("issued", -150, None), PostingEntry("available", 150, COMMITMENT)),
    lots=(LotEntry(9, 150, AT, datetime(2027, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)),),
    order_ref="o-1", money=MoneyEntry(15000, "KRW"), rule="base", ruleset="sha256:ab", idempotency_key="k1",
    version=1,
)
EARN_BYTES = (
    '{"hold":null,"id":7,"idempotency_key":"k1","kind":"earn","lots":[{"amount":150,'
    '"available_at":"2026-01-02T03:04:05.000006Z","expires_at":"2027-01-02T03:04:05.000006Z","id":9}],'
    '"money":{"amount":15000,"currency":"KRW"},"movements":[],"occurred_at":"2026-01-02T03:04:05.000006Z",'
    '"order_ref":"o-1","postings":[{"account":"issued","amount":-150,"member":null},{"account":"available",'
    '"amount":150,"member":"92dd5c1c92af3cc898c7cc0ec82b8e03917907b494272948c5e68dfe78f6605d"}],'
    '"program":"acme","rule":"base","ruleset":"sha256:ab","type":"transaction","v":1}'
).encode()
# printf '\x00<EARN_BYTES>' | sha256sum
EARN_LEAF = "588c3f9532da05385dc5f37b1835f2cca918bdc97ce837e91dc7db489e7caf18"

# Version 2: one transaction for what two rules of an event gave, each posting naming its rule.
EARN_V2 = replace(
    EARN, version=2, rule=None,
    postings=(PostingEntry("issued", -150, None, "base"), PostingEntry("available", 150, COMMITMENT, "base"),
              PostingEntry("issued", -50, None, "tier-bonus"),
              PostingEntry("available", 50, COMMITMENT, "tier-bonus")),
    lots=(LotEntry(9, 200, AT, datetime(2027, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)),),
)
EARN_V2_BYTES = (
    '{"hold":null,"id":7,"idempotency_key":"k1","kind":"earn","lots":[{"amount":200,'
    '"available_at":"2026-01-02T03:04:05.000006Z","expires_at":"2027-01-02T03:04:05.000006Z","id":9}],'
    '"money":{"amount":15000,"currency":"KRW"},"movements":[],"occurred_at":"2026-01-02T03:04:05.000006Z",'
    '"order_ref":"o-1","postings":[{"account":"issued","amount":-150,"member":null,"rule":"base"},'
    '{"account":"available","amount":150,"member":"92dd5c1c92af3cc898c7cc0ec82b8e03917907b494272948c5e68dfe78f6605d",'
    '"rule":"base"},{"account":"issued","amount":-50,"member":null,"rule":"tier-bonus"},{"account":"available",'
    '"amount":50,"member":"92dd5c1c92af3cc898c7cc0ec82b8e03917907b494272948c5e68dfe78f6605d","rule":"tier-bonus"}],'
    '"program":"acme","rule":null,"ruleset":"sha256:ab","type":"transaction","v":2}'
).encode()

RULESET = RulesetEntry(
    program="acme", hash="sha256:00", version=3, effective_from=datetime(2026, 2, 1, tzinfo=timezone.utc),
    published_at=datetime(2026, 1, 1, 12, tzinfo=timezone.utc), urgent=False,
    document={"rules": [], "program": "acme", "name": "Café"},
)
RULESET_BYTES = (
    '{"document":{"name":"Café","program":"acme","rules":[]},"effective_from":"2026-02-01T00:00:00.000000Z",'
    '"hash":"sha256:00","program":"acme","published_at":"2026-01-01T12:00:00.000000Z","type":"ruleset",'
    '"urgent":false,"v":1,"version":3}'
).encode()
RULESET_LEAF = "9c0e7473e7dbdddb1d212437ef887f30d0dbe22005c1fd13790b7bf41c7380fd"


def test_member_commitment_is_the_hmac_of_program_and_member() -> None:
    assert member_commitment(KEY, "acme", "m_1") == COMMITMENT
    assert member_commitment(KEY, "acme", "m_2") != COMMITMENT
    assert member_commitment(KEY, "other", "m_1") != COMMITMENT
    assert member_commitment(bytes(32), "acme", "m_1") != COMMITMENT
    with pytest.raises(ValueError):
        member_commitment(b"short", "acme", "m_1")


def test_transaction_entry_bytes_and_leaf_hash() -> None:
    assert encode(EARN) == EARN_BYTES
    assert leaf_hash(EARN_BYTES).hex() == EARN_LEAF
    assert decode(EARN_BYTES) == EARN


def test_a_version_2_entry_names_the_rule_of_every_posting() -> None:
    assert encode(EARN_V2) == EARN_V2_BYTES
    assert decode(EARN_V2_BYTES) == EARN_V2
    assert stated_version(EARN_V2_BYTES) == 2 and stated_version(EARN_BYTES) == 1
    # A version 1 entry has no place for a posting's rule: it is refused, never dropped.
    with pytest.raises(EntryError, match="version 1"):
        encode(replace(EARN_V2, version=1))
    # Both versions are read; each only in its own shape.
    with pytest.raises(EntryError, match="unknown fields"):
        decode(EARN_V2_BYTES.replace(b'"v":2', b'"v":1'))
    with pytest.raises(EntryError, match="missing fields"):
        decode(EARN_BYTES.replace(b'"v":1', b'"v":2'))


def test_ruleset_entry_bytes_and_leaf_hash_keep_non_ascii_text() -> None:
    assert encode(RULESET) == RULESET_BYTES
    assert hashlib.sha256(b"\x00" + RULESET_BYTES).hexdigest() == RULESET_LEAF
    assert decode(RULESET_BYTES) == RULESET


def test_times_in_other_zones_encode_as_the_same_utc_instant() -> None:
    seoul = AT.astimezone(timezone(timedelta(hours=9)))
    assert encode(replace(EARN, occurred_at=seoul)) == EARN_BYTES
    with pytest.raises(ValueError):
        encode(replace(EARN, occurred_at=AT.replace(tzinfo=None)))


def test_unordered_lists_have_one_order() -> None:
    later = datetime(2027, 1, 1, tzinfo=timezone.utc)
    lots = (LotEntry(2, 5, AT, later), LotEntry(1, 5, AT, later))
    moves = (MovementEntry(4, "redeemed", 3), MovementEntry(3, "redeemed", 2))
    one = replace(EARN, lots=lots, movements=moves)
    other = replace(EARN, lots=lots[::-1], movements=moves[::-1])
    assert encode(one) == encode(other)
    assert decode(encode(one)).lots[0].id == 1


def test_no_member_id_and_no_reason_in_an_entry() -> None:
    text = encode(EARN).decode()
    assert "m_1" not in text and "reason" not in text


@pytest.mark.parametrize("data, message", [
    (EARN_BYTES.replace(b'"v":1', b'"v":3'), "version"),
    (RULESET_BYTES.replace(b'"v":1', b'"v":2'), "version"),
    (EARN_BYTES.replace(b'"type":"transaction"', b'"type":"other"'), "type"),
    (EARN_BYTES.replace(b"15000", b"15000.0"), "integer"),
    (EARN_BYTES.replace(b"-150", b"-149"), "sum to zero"),
    (EARN_BYTES.replace(b'"hold":null,', b""), "missing fields"),
    (EARN_BYTES.replace(b'"hold":null,', b'"hold":null,"reason":"x",'), "unknown fields"),
    (EARN_BYTES.replace(b'"hold":null,', b'"hold":"3",'), "hold is an integer"),
    (EARN_BYTES.replace(b"000006Z", b"000006+00:00", 1), "time"),
    (EARN_BYTES.replace(b"92dd5c1c", b"m_1", 1), "commitment"),
    (EARN_BYTES.replace(b"KRW", b"krw"), "ISO 4217"),
    (EARN_BYTES.replace(b'{"hold"', b'{ "hold"'), "canonical"),
    (EARN_BYTES.replace(b'"hold":null,"id":7', b'"id":7,"hold":null'), "canonical"),
    (EARN_BYTES.replace(b'"k1"', b'"\\u006b1"'), "canonical"),
    (b"\xff" + EARN_BYTES, "UTF-8"),
    (b"[1]", "object"),
    (EARN_BYTES[:-1], "JSON"),
    (RULESET_BYTES.replace(b'"urgent":false', b'"urgent":0'), "true or false"),
    (RULESET_BYTES.replace(b'"version":3', b'"version":3.5'), "integer"),
])
def test_decode_refuses_anything_but_a_canonical_valid_entry(data: bytes, message: str) -> None:
    with pytest.raises(EntryError, match=message):
        decode(data)


def test_encode_refuses_floats_in_a_ruleset_document() -> None:
    with pytest.raises(EntryError, match="floats"):
        encode(replace(RULESET, document={"rate": 0.5}))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_fast_transaction_encoder_writes_the_canonical_json(data: st.DataObject) -> None:
    text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
    maybe = lambda strategy: st.none() | strategy  # noqa: E731
    amount = st.integers(-10**15, 10**15).filter(bool)
    moment = st.datetimes(datetime(1970, 1, 2), datetime(2999, 1, 1), timezones=st.just(timezone.utc))
    version = data.draw(st.sampled_from((1, 2)))
    postings = data.draw(st.lists(st.tuples(text, amount, maybe(st.text("0123456789abcdef", min_size=64,
                                                                          max_size=64)),
                                            maybe(text) if version == 2 else st.none()), min_size=1, max_size=4))
    entry = TransactionEntry(
        program=data.draw(text), id=data.draw(st.integers(1, 2**62)), kind=data.draw(text),
        occurred_at=data.draw(moment),
        postings=tuple(PostingEntry(*p) for p in postings),
        lots=tuple(LotEntry(i, a, t1, t2) for i, a, t1, t2 in data.draw(
            st.lists(st.tuples(st.integers(1, 2**40), amount, moment, moment), max_size=3))),
        movements=tuple(MovementEntry(*m) for m in data.draw(
            st.lists(st.tuples(st.integers(1, 2**40), text, amount), max_size=3))),
        order_ref=data.draw(maybe(text)), money=data.draw(maybe(st.builds(MoneyEntry, amount, st.just("KRW")))),
        rule=data.draw(maybe(text)), ruleset=data.draw(maybe(text)), idempotency_key=data.draw(maybe(text)),
        hold=data.draw(maybe(st.integers(1, 2**62))), version=version,
    )
    assert encode(entry) == json.dumps(_transaction_json(entry), sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False).encode()


def test_encode_refuses_a_float_amount_in_a_transaction() -> None:
    with pytest.raises(EntryError, match="integers"):
        encode(replace(EARN, postings=(PostingEntry("issued", -1.5, None), PostingEntry("available", 1.5, None))))  # type: ignore[arg-type]
