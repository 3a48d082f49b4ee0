"""The pure core of members' own data: sealing, key rings, fields, consent, scrubbing, the
export archive. No database."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime, timezone

import pytest
from hypothesis import given, strategies as st

from dangol.domain.errors import InvalidRequest
from dangol.privacy import (
    ConsentChange, ConsentRecord, ConsentSource, InvalidPersonalData, KeyRing, KeyRingError,
    PersonalFields, Purpose, SealError, new_data_key, open_sealed, seal,
)
from dangol.privacy.archive import build_archive
from dangol.privacy.envelope import data_key_context, record_context
from dangol.privacy.erasure import erased_ref, scrub

TODAY = date(2026, 1, 1)
AT = datetime(2026, 1, 1, 9, tzinfo=timezone.utc)


@given(st.binary(max_size=2000), st.text(max_size=30), st.text(max_size=30))
def test_a_sealed_value_opens_only_with_its_key_and_for_its_member(plaintext: bytes, program: str,
                                                                   member: str) -> None:
    key = new_data_key()
    sealed = seal(key, plaintext, record_context(program, member))
    assert len(plaintext) < 8 or plaintext not in sealed  # never in clear (a short run may occur by chance)
    assert open_sealed(key, sealed, record_context(program, member)) == plaintext
    with pytest.raises(SealError):
        open_sealed(new_data_key(), sealed, record_context(program, member))
    with pytest.raises(SealError):  # copied onto another member's row
        open_sealed(key, sealed, record_context(program, member + "x"))
    with pytest.raises(SealError):
        open_sealed(key, sealed[:-1] + bytes([sealed[-1] ^ 1]), record_context(program, member))


def test_a_key_ring_wraps_with_its_current_key_and_unwraps_with_any() -> None:
    old = KeyRing.generate()
    ring = old.with_new_key()
    assert list(ring.keys)[0] == old.current_kek() and ring.current_kek() != old.current_kek()
    data_key = new_data_key()
    context = data_key_context("market", "m_1")
    old_id, wrapped = old.wrap(data_key, context)
    assert ring.unwrap(old_id, wrapped, context) == data_key  # the new ring still opens the old wraps
    new_id, rewrapped = ring.wrap(data_key, context)
    assert new_id == ring.current_kek() and ring.unwrap(new_id, rewrapped, context) == data_key
    retired = ring.without({old_id})
    with pytest.raises(KeyRingError, match="does not hold"):
        retired.unwrap(old_id, wrapped, context)
    with pytest.raises(KeyRingError, match="current key cannot be retired"):
        ring.without({new_id})
    with pytest.raises(KeyRingError, match="does not unwrap"):
        ring.unwrap(new_id, rewrapped, data_key_context("market", "m_2"))


def test_a_key_ring_is_text_one_key_a_line_or_comma_separated() -> None:
    ring = KeyRing.generate().with_new_key()
    assert KeyRing.parse(ring.encode()) == ring
    assert KeyRing.parse(",".join(ring.encode().split())) == ring
    assert KeyRing.parse("# comment\n\n" + ring.encode()).current_kek() == ring.current_kek()
    for text, message in (("", "no key-encryption key"), ("k1 AAAA", "expected <id>:<base64 key>"),
                          ("k1:not base64!", "not base64"), ("k1:AAAA", "32 bytes"), ("bad id:" + "A" * 44, "key id"),
                          (ring.encode() + ring.encode(), "twice")):
        with pytest.raises(KeyRingError, match=message):
            KeyRing.parse(text)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("email", "minji@", "is not an e-mail address"),
    ("email", "min ji@example.com", "is not an e-mail address"),
    ("email", "minji@example", "is not an e-mail address"),
    ("phone", "call me", "is not a phone number"),
    ("phone", "12", "is not a phone number"),
    ("birthday", "1990-13-01", "is not a date YYYY-MM-DD"),
    ("birthday", "17/05/1990", "is not a date YYYY-MM-DD"),
    ("birthday", "2026-01-02", "is in the future"),
    ("name", "   ", "must not be empty"),
    ("name", "a\x00b", "printable"),
    ("address", "x" * 501, "up to 500"),
    ("nickname", "Minji", "not one of this program's personal fields"),
])
def test_invalid_personal_values_are_refused_naming_the_field(name: str, value: str, message: str) -> None:
    with pytest.raises(InvalidPersonalData, match=message) as refused:
        PersonalFields().apply({}, {name: value}, TODAY)
    assert refused.value.field == name and refused.value.context == {"field": name}
    assert refused.value.detail.startswith(f"{name}: ")


def test_valid_values_are_kept_trimmed_and_null_clears() -> None:
    fields = PersonalFields()
    values = fields.apply({}, {"name": " 김민지 ", "email": "minji@example.co.kr", "phone": "+82 10-1234-5678",
                               "birthday": "2026-01-01", "address": "서울시 중구\n세종대로 110"}, TODAY)
    assert values == {"name": "김민지", "email": "minji@example.co.kr", "phone": "+82 10-1234-5678",
                      "birthday": "2026-01-01", "address": "서울시 중구\n세종대로 110"}
    after = fields.apply(values, {"phone": None, "name": "Kim Minji"}, TODAY)
    assert "phone" not in after and after["name"] == "Kim Minji" and after["email"] == values["email"]


def test_a_program_chooses_its_fields() -> None:
    fields = PersonalFields.from_json({"name": "text", "loyalty_card": "text", "work_email": "email"})
    assert fields.apply({}, {"loyalty_card": "LC-1"}, TODAY) == {"loyalty_card": "LC-1"}
    with pytest.raises(InvalidPersonalData):
        fields.apply({}, {"work_email": "nope"}, TODAY)
    with pytest.raises(InvalidPersonalData, match="not one of"):
        fields.apply({}, {"phone": "010-1234-5678"}, TODAY)
    # Values of a field the program no longer keeps are dropped at the next change.
    assert fields.apply({"phone": "010-1234-5678", "name": "A"}, {"name": "B"}, TODAY) == {"name": "B"}
    for bad in ({}, {"Name": "text"}, {"name": "colour"}):
        with pytest.raises(InvalidRequest):
            PersonalFields.from_json(bad)
    assert PersonalFields().as_json() == {"name": "text", "email": "email", "phone": "phone", "birthday": "date",
                                          "address": "address"}


def _record(purpose: Purpose, granted: bool, notice: str | None = "v1") -> ConsentRecord:
    return ConsentRecord(purpose, granted, ConsentSource.API, notice, AT)


def test_a_consent_change_records_only_what_changes() -> None:
    current = {Purpose.MARKETING: _record(Purpose.MARKETING, True)}
    change = ConsentChange.parse({"marketing": True, "personalisation": False, "partner_sharing": True},
                                 "portal", "v1", AT)
    # marketing: the same answer under the same notice; personalisation: never granted, so
    # withdrawing it changes nothing; partner sharing: new.
    assert [(r.purpose, r.granted, r.source) for r in change.records(current)] == [
        (Purpose.PARTNER_SHARING, True, ConsentSource.PORTAL)]
    # A new notice version is a new answer, even if the same.
    again = ConsentChange.parse({"marketing": True}, "portal", "v2", AT)
    assert [(r.purpose, r.notice_version) for r in again.records(current)] == [(Purpose.MARKETING, "v2")]
    withdrawn = ConsentChange.parse({"marketing": False}, "api", "v1", AT)
    assert [(r.purpose, r.granted) for r in withdrawn.records(current)] == [(Purpose.MARKETING, False)]


@pytest.mark.parametrize(("answers", "source", "notice", "field"), [
    ({}, "api", None, None), ({"newsletters": True}, "api", None, "newsletters"),
    ({"marketing": "yes"}, "api", None, "marketing"), ({"marketing": True}, "fax", None, "source"),
    ({"marketing": True}, "api", "version 2", "notice_version"),
])
def test_a_consent_change_refuses_what_it_cannot_record(answers: dict[str, object], source: str,
                                                        notice: str | None, field: str | None) -> None:
    with pytest.raises(InvalidRequest) as refused:
        ConsentChange.parse(answers, source, notice, AT)
    assert refused.value.context.get("field") == field


def test_scrub_replaces_the_members_reference_and_clears_only_their_free_text() -> None:
    receipt = {"member": {"id": "m_1", "external_ref": "cust-9", "status": "active"},
               "transactions": [{"id": 1, "member_id": "m_1", "reason": "for Kim", "points": 5},
                                {"id": 2, "member_id": "m_2", "reason": "not theirs"}],
               "other": {"external_ref": "cust-10"}}
    scrubbed, changed = scrub(receipt, "m_1", "cust-9")
    assert changed
    assert scrubbed["member"]["external_ref"] == erased_ref("m_1") == "erased:m_1"
    assert scrubbed["transactions"][0]["reason"] is None and scrubbed["transactions"][1]["reason"] == "not theirs"
    assert scrubbed["other"] == {"external_ref": "cust-10"}
    assert scrub({"member_id": "m_1", "profile": {"display_name": "Minji"}}, "m_1", "x")[0] == {
        "member_id": "m_1", "profile": None}
    assert scrub(receipt, "m_3", "cust-3") == (receipt, False)


def test_the_archive_holds_the_document_and_one_csv_per_list() -> None:
    document = {"member": {"id": "m_1"}, "transactions": [{"id": 1, "postings": [{"amount": 5}]}]}
    data = build_archive(document, {"transactions": [{"id": 1, "postings": [{"amount": 5}]}, {"id": 2, "note": None}],
                                    "empty": []})
    assert build_archive(document, {"transactions": [{"id": 1, "postings": [{"amount": 5}]}, {"id": 2, "note": None}],
                                    "empty": []}) == data  # the same bytes every time
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["export.json", "transactions.csv", "empty.csv"]
        assert json.loads(archive.read("export.json")) == document
        rows = list(csv.reader(io.StringIO(archive.read("transactions.csv").decode())))
    assert rows == [["id", "postings", "note"], ["1", '[{"amount":5}]', ""], ["2", "", ""]]
