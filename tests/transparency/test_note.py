"""Signed notes and keys: published vectors of other implementations, round trips, and
everything a strict parser must refuse."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dangol.transparency import note
from dangol.transparency.keys import SIG_COSIGNATURE_V1, SIG_ED25519, SignerKey, VerifierKey
from dangol.transparency.note import NoteError, open_note

# golang.org/x/mod/sumdb/note, the package documentation and note_test.go: a key pair and
# a note signed with it, then signed again by EnochRoot.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
PETER_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_LINE = ("— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6Ryy"
              "BwJnAM=\n")
ENOCH_LINE = ("— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc"
              "+QQ=\n")
PETER_NOTE = PETER_TEXT + "\n" + PETER_LINE
# c2sp.org/signed-note v1.0.0, its example.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = ("This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg"
             "1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")
# transparency-dev/formats note/note_cosigv1_test.go: a cosignature (type 0x04) key, and
# a type 0x01 key whose base64 holds a '+'.
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
PLUS_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"


def test_the_go_note_example_verifies() -> None:
    opened = open_note(PETER_NOTE.encode(), [VerifierKey.parse(PETER_VKEY)])
    assert opened.text == PETER_TEXT
    assert [(s.name, s.key_id) for s in opened.verified] == [("PeterNeumann", 0xc74f20a3)]


def test_signing_with_the_published_private_key_reproduces_the_published_note() -> None:
    """Ed25519 is deterministic (RFC 8032): same key, same text, same signature."""
    signer = SignerKey.parse(PETER_SKEY)
    assert signer.vkey() == PETER_VKEY
    assert signer.encode() == PETER_SKEY
    assert note.sign(PETER_TEXT, [signer]).decode() == PETER_NOTE


def test_a_note_signed_twice_verifies_with_either_key_and_both() -> None:
    both = PETER_NOTE + ENOCH_LINE
    peter, enoch = VerifierKey.parse(PETER_VKEY), VerifierKey.parse(ENOCH_VKEY)
    assert [s.name for s in open_note(both, [enoch]).verified] == ["EnochRoot"]
    assert [s.name for s in open_note(both, [enoch]).unverified] == ["PeterNeumann"]
    assert [s.name for s in open_note(both, [peter, enoch]).verified] == ["PeterNeumann", "EnochRoot"]


def test_the_signed_note_spec_example_verifies() -> None:
    assert open_note(SPEC_NOTE, [VerifierKey.parse(SPEC_VKEY)]).text == "This is an example message.\n"


@pytest.mark.parametrize(("vkey", "sig_type"), [(PETER_VKEY, SIG_ED25519), (REMORA_VKEY, SIG_COSIGNATURE_V1),
                                                (PLUS_VKEY, SIG_ED25519), (SPEC_VKEY, SIG_ED25519)])
def test_published_verifier_keys_parse_and_encode_back(vkey: str, sig_type: int) -> None:
    key = VerifierKey.parse(vkey)
    assert key.sig_type == sig_type
    assert key.encode() == vkey


def test_verifier_keys_refuse_every_mangling() -> None:
    """As x/mod's TestNewVerifier: every proper substring and every one-character change."""
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises((NoteError, ValueError)):
                    VerifierKey.parse(PETER_VKEY[i:j])
    for i in range(len(PETER_VKEY)):
        mangled = PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1:]
        with pytest.raises((NoteError, ValueError)):
            VerifierKey.parse(mangled)
    for bad in ("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # key too long
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown type
                "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"):  # upper-case hex
        with pytest.raises(NoteError):
            VerifierKey.parse(bad)


def test_generated_keys_round_trip() -> None:
    signer = SignerKey.generate("dangol.example/log")
    assert SignerKey.parse(signer.encode()).vkey() == signer.vkey()
    assert VerifierKey.parse(signer.vkey()) == signer.verifier()
    with pytest.raises(NoteError):
        SignerKey.generate("has space")
    with pytest.raises(NoteError):
        SignerKey.generate("has+plus")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(min_codepoint=0x20, codec="utf-8"),
                        max_size=40), min_size=1, max_size=6))
def test_sign_parse_verify_round_trip(lines: list[str]) -> None:
    text = "".join(line + "\n" for line in lines)
    signer = SignerKey.generate("dangol.example/log")
    signed = note.sign(text, [signer])
    assert note.parse(signed).encode() == signed
    assert open_note(signed, [signer.verifier()]).text == text


@pytest.fixture(scope="module")
def signer() -> SignerKey:
    return SignerKey.generate("dangol.example/log")


@pytest.fixture(scope="module")
def signed(signer: SignerKey) -> str:
    return note.sign("dangol.example/log\n5\nAAAA\n", [signer]).decode()


def test_an_unknown_key_alone_is_refused(signed: str) -> None:
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_note(signed, [SignerKey.generate("dangol.example/log").verifier()])  # same name, other key


def test_a_tampered_body_is_refused(signer: SignerKey, signed: str) -> None:
    with pytest.raises(NoteError, match="does not verify"):
        open_note(signed.replace("\n5\n", "\n6\n"), [signer.verifier()])


def test_a_wrong_key_name_is_refused(signer: SignerKey, signed: str) -> None:
    renamed = signed.replace("— dangol.example/log ", "— dangol.example/other ")
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_note(renamed, [signer.verifier()])


def test_a_bad_signature_by_a_known_key_rejects_the_note_even_beside_a_good_one(signer: SignerKey,
                                                                                signed: str) -> None:
    other = SignerKey.generate("dangol.example/witness")
    forged = signed + note.Signature(other.name, other.key_id, b"\x00" * 64).line()
    with pytest.raises(NoteError, match="does not verify"):
        open_note(forged, [signer.verifier(), other.verifier()])
    assert open_note(forged, [signer.verifier()]).unverified[0].name == other.name  # unknown: ignored


def test_two_signatures_by_the_same_key_are_refused(signer: SignerKey, signed: str) -> None:
    line = signed.split("\n\n")[1]
    with pytest.raises(NoteError, match="two signatures"):
        open_note(signed + line, [signer.verifier()])


@pytest.mark.parametrize("mangle", [
    lambda s: s[:-1],  # no final newline
    lambda s: s[:s.index("\n\n") + 2],  # no signature lines
    lambda s: s.replace("\n\n", "\n"),  # no blank line
    lambda s: s.replace("— ", "-- "),  # not an em dash
    lambda s: s.replace("— ", "—  "),  # two spaces
    lambda s: s.replace("— ", "—"),  # no space
    lambda s: s[:-2] + "!\n",  # not base64
    lambda s: s[:-6] + "=\n",  # truncated base64
    lambda s: s.replace("\n5\n", "\n5\r\n"),  # a control character
    lambda s: s + s.split("\n\n")[1] * 100,  # too many signatures
    lambda s: "x" * (note.MAX_NOTE_BYTES + 1) + s,  # oversized
    lambda s: s[:s.rindex(" ") + 1] + base64.b64encode(b"abcd").decode() + "\n",  # key ID without signature
])
def test_malformed_notes_are_refused(signer: SignerKey, signed: str, mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NoteError):
        open_note(mangle(signed), [signer.verifier()])


def test_invalid_utf8_is_refused(signer: SignerKey, signed: str) -> None:
    with pytest.raises(NoteError):
        open_note(b"\xff" + signed.encode(), [signer.verifier()])


def test_texts_that_cannot_be_signed_are_refused(signer: SignerKey) -> None:
    for text in ("no final newline", "tab\there\n", "lone surrogate \ud800\n"):
        with pytest.raises(NoteError):
            note.sign(text, [signer])


def test_a_text_with_blank_lines_keeps_them() -> None:
    signer = SignerKey.generate("k")
    text = "first\n\nsecond\n\n"
    assert open_note(note.sign(text, [signer]), [signer.verifier()]).text == text
