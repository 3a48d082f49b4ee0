"""The log's HTTP API, as an auditor, a witness and a member use it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from dangol.api import create_app
from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.service.programs import Scope
from dangol.transparency import (
    SIG_COSIGNATURE_V1, SignerKey, VerifierKey, leaf_hash, mth, open_checkpoint, verify_consistency, verify_inclusion,
)
from dangol.transparency import note as notes
from dangol.transparency.entry import decode, member_commitment

from api.helpers import Api, assert_problem
from .support import PROGRAM, every_kind


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as test_client:
        yield test_client


@pytest.fixture
def admin(client: TestClient, services: Services) -> Api:
    return Api(client, services.programs.create_api_key(None, {Scope.ADMIN}, "test admin")[1])


def b64d(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def test_an_auditor_mirrors_the_log_and_checks_it_against_the_checkpoint(
        client: TestClient, admin: Api, services: Services, clock: FixedClock) -> None:
    every_kind(services, clock)
    assert_problem(client.get("/v1/log/checkpoint"), 404, "log-unavailable")
    signed = admin.post("/v1/log/checkpoints")
    assert signed.status_code == 200, signed.text
    response = client.get("/v1/log/checkpoint")  # no key
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    vkey = client.get("/v1/log/key").text.strip()
    checkpoint = open_checkpoint(response.text, VerifierKey.parse(vkey)).checkpoint
    assert checkpoint.size == signed.json()["size"]
    mirrored = []
    start = 0
    while True:
        page = client.get("/v1/log/entries", params={"start": start, "limit": 7}).json()["entries"]
        if not page:
            break
        mirrored += page
        start += len(page)
    assert [e["index"] for e in mirrored] == list(range(checkpoint.size))
    for e in mirrored:
        assert leaf_hash(b64d(e["entry"])) == b64d(e["leaf_hash"])
        decode(b64d(e["entry"]))
    assert mth([b64d(e["leaf_hash"]) for e in mirrored]) == checkpoint.root_hash
    assert client.get(f"/v1/log/checkpoints/{checkpoint.size}").text == response.text
    assert_problem(client.get("/v1/log/checkpoints/1"), 404, "log-unavailable")


def test_a_member_proves_their_receipt_and_finds_their_entries(
        client: TestClient, admin: Api, services: Services, clock: FixedClock) -> None:
    r = every_kind(services, clock)
    size = admin.post("/v1/log/checkpoints").json()["size"]
    root = open_checkpoint(client.get("/v1/log/checkpoint").text,
                           VerifierKey.parse(client.get("/v1/log/key").text.strip())).checkpoint.root_hash
    receipt = r["redeem"]["log"][0]
    proof = client.get("/v1/log/proof/inclusion", params={"sequence": receipt["sequence"], "size": size}).json()
    assert proof["leaf_hash"] == receipt["leaf_hash"] and proof["sequence"] == receipt["sequence"]
    verify_inclusion(proof["index"], size, b64d(proof["leaf_hash"]), [b64d(h) for h in proof["hashes"]], root)
    by_index = client.get("/v1/log/proof/inclusion", params={"index": proof["index"], "size": size}).json()
    assert by_index == proof
    # The member's key (read key of the program) finds their own entries and only theirs.
    mine = admin.get(f"/v1/programs/{PROGRAM}/members/{r['alice']}/log-key").json()
    # As documented: the key is the standard, padded base64 of 32 bytes; the commitment,
    # HMAC-SHA256 of the UTF-8 text, is 64 lowercase hex digits.
    assert len(mine["key"]) == 44 and mine["key"].endswith("=") and len(b64d(mine["key"])) == 32
    commitment = hmac.new(b64d(mine["key"]), f"dangol/member/v1\n{PROGRAM}\n{r['alice']}".encode(),
                          hashlib.sha256).hexdigest()
    assert mine["commitment"] == commitment == member_commitment(b64d(mine["key"]), PROGRAM, r["alice"])
    entries = client.get("/v1/log/entries", params={"start": 0, "limit": 1000}).json()["entries"]
    own = [e for e in entries if commitment in b64d(e["entry"]).decode()]
    assert r["redeem"]["log"][0]["leaf_hash"] in {e["leaf_hash"] for e in own}
    assert r["earn_short"]["log"][0]["leaf_hash"] not in {e["leaf_hash"] for e in own}  # bob's
    assert admin.get(f"/v1/programs/{PROGRAM}/members/{r['alice']}/log-key").json() == mine
    assert client.get(f"/v1/programs/{PROGRAM}/members/{r['alice']}/log-key").status_code == 401


def test_consistency_between_two_checkpoints(client: TestClient, admin: Api, services: Services,
                                             clock: FixedClock) -> None:
    r = every_kind(services, clock)
    first = admin.post("/v1/log/checkpoints").json()
    admin.post(f"/v1/programs/{PROGRAM}/members/{r['bob']}/earn", {"points": 10})
    second = admin.post("/v1/log/checkpoints").json()
    assert second["size"] == first["size"] + 1
    proof = client.get("/v1/log/proof/consistency", params={"from": first["size"], "to": second["size"]}).json()
    verify_consistency(first["size"], second["size"], b64d(first["root_hash"]), b64d(second["root_hash"]),
                       [b64d(h) for h in proof["hashes"]])
    assert_problem(client.get("/v1/log/proof/consistency", params={"from": 1, "to": second["size"] + 5}),
                   422, "validation-error")
    assert_problem(client.get("/v1/log/proof/inclusion", params={"size": 1}), 422, "validation-error")


def test_pending_entry_has_no_proof_yet(client: TestClient, admin: Api, services: Services, clock: FixedClock) -> None:
    r = every_kind(services, clock)
    size = admin.post("/v1/log/checkpoints").json()["size"]
    earned = admin.post(f"/v1/programs/{PROGRAM}/members/{r['bob']}/earn", {"points": 10}).json()
    assert_problem(client.get("/v1/log/proof/inclusion", params={"sequence": earned["log"][0]["sequence"],
                                                                  "size": size}), 404, "log-unavailable")


def test_witness_cosignatures_are_collected_and_published(client: TestClient, admin: Api, services: Services,
                                                          clock: FixedClock) -> None:
    every_kind(services, clock)
    witness = SignerKey.generate("witness.example/w1", SIG_COSIGNATURE_V1, clock=lambda: 1_760_000_000)
    stranger = SignerKey.generate("stranger.example/w9", SIG_COSIGNATURE_V1)
    services.log.add_witness(witness.vkey())
    services.log.set_quorum(1)
    assert client.get("/v1/log/witnesses").json() == {"quorum": 1, "witnesses": [witness.vkey()]}
    admin.post("/v1/log/checkpoints")
    signed = client.get("/v1/log/checkpoint").text
    by_stranger = notes.add_signatures(notes.parse(signed), [stranger]).encode()
    assert_problem(client.post("/v1/log/cosignatures", content=by_stranger), 400, "bad-cosignature")
    cosigned = notes.add_signatures(notes.parse(signed), [witness]).encode()
    accepted = client.post("/v1/log/cosignatures", content=cosigned)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["accepted"] == [witness.vkey()]
    assert client.post("/v1/log/cosignatures", content=cosigned).status_code == 200  # again: harmless
    published = client.get("/v1/log/checkpoint").text
    opened = open_checkpoint(published, VerifierKey.parse(client.get("/v1/log/key").text.strip()),
                             witnesses=[witness.verifier()], quorum=1)
    assert opened.cosignatures[0].timestamp == 1_760_000_000
    assert published.count("witness.example/w1") == 1
    # A forged checkpoint (another root) that the log never signed: 409.
    forged = signed.replace(signed.split("\n")[2], base64.b64encode(b"\x01" * 32).decode())
    forged_note = notes.add_signatures(notes.Note(notes.parse(forged).text, ()), [witness]).encode()
    assert_problem(client.post("/v1/log/cosignatures", content=forged_note), 409, "conflict")
    # A tampered cosignature by a registered witness: 400.
    tampered = cosigned.replace(cosigned.split(b"\n")[-2][-10:], b"AAAAAAAAAA")
    assert_problem(client.post("/v1/log/cosignatures", content=tampered), 400, "bad-cosignature")
    assert_problem(client.post("/v1/log/cosignatures", content=b"not a note"), 400, "bad-cosignature")


def test_signing_needs_the_admin_key(client: TestClient, services: Services) -> None:
    services.programs.create_program("p1", "P", "KRW")
    token = services.programs.create_api_key("p1", {Scope.WRITE}, "w")[1]
    assert_problem(Api(client, token).post("/v1/log/checkpoints"), 403, "forbidden")
