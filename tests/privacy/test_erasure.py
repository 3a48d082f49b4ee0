"""Erasure by crypto-shredding, on both databases: nothing left links the member's
pseudonym to the person (the SQLite file, searched byte by byte, holds none of their
values); the ledger and the log stay whole and verifiable; erasing again answers the
original receipt; the brand is told; retention erases on its own."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


import pytest
from sqlalchemy import LargeBinary, String, Text, select

from dangol.domain import FixedClock, MemberStatus
from dangol.domain.commands import Earn, Enroll, PlaceHold, SetMemberStatus
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.service.programs import Scope
from dangol.storage import tables as t

from api.helpers import Api, assert_problem
from cli.helpers import dangol
from logserver.live import live
from .conftest import audit_actions, rows

SECRETS = {"name": "Minji Kim-Secretname", "email": "minji.secret@example.com", "phone": "+82 10-9876-5432",
           "birthday": "1991-07-23", "address": "77 Hidden-Alley, Seoul"}
REF = "cust-secret-7731"
DISPLAY = "MinjiTheGreat"
REASON = "apology to Minji for parcel 7731"


def _values() -> list[str]:
    return [*SECRETS.values(), REF, DISPLAY, REASON]


def a_member_with_everything(services: Services, program_id: str, clock: FixedClock) -> str:
    """A member known by every kind of personal value dangol can hold: personal fields, the
    brand's reference (in their row, their events and the stored answers of requests), a
    display name and birthday in their profile (and its history), a free-text reason."""
    services.rulesets.publish(program_id, json.dumps({
        "program": program_id, "version": "v1", "currency": "KRW", "effective_from": clock.now().isoformat(),
        "rules": [{"id": "welcome", "on": "signup", "actions": [{"award_points": {"fixed": 1000}}]}]}))
    signed_up = services.events.record(program_id, EventInput("signup-1", "signup", external_ref=REF))
    member = str(signed_up["member_id"]) if "member_id" in signed_up else services.reader.member_by_ref(
        program_id, REF)["id"]
    services.ledger.run(program_id, Earn(member, points=2_500, reason=REASON), "earn-1")
    services.ledger.run(program_id, PlaceHold(member, 1_000), "hold-1")
    services.personal_data.update(program_id, member, SECRETS, "cli", "pd-1")
    services.profiles.update(program_id, member, {"display_name": DISPLAY, "leaderboard_opt_in": True,
                                                  "birthday_month": 7, "birthday_day": 23,
                                                  "time_zone": "Asia/Seoul"}, "profile-1")
    services.consents.change(program_id, member, {"marketing": True, "partner_sharing": True}, "portal", "v1")
    services.exports.document(program_id, member, "cli")
    return member


def a_bystander(services: Services, program_id: str) -> str:
    other = str(services.ledger.run(program_id, Enroll("bystander-1"))["member"]["id"])
    services.ledger.run(program_id, Earn(other, points=700, reason="bystander's thanks"))
    services.personal_data.update(program_id, other, {"name": "Jiwoo Park", "email": "jiwoo@example.com"}, "cli")
    services.profiles.update(program_id, other, {"display_name": "Jiwoo"})
    return other


def every_text_value(services: Services) -> str:
    """Every text and binary value of every table, as one string (PostgreSQL's tables as
    SQL sees them: its files keep dead row versions until vacuumed)."""
    found = []
    with services.db.read() as conn:
        for table in t.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text, LargeBinary))]
            if columns:
                for row in conn.execute(select(*columns)):
                    found += [bytes(v).decode("latin-1") if isinstance(v, (bytes, memoryview)) else str(v)
                              for v in row if v is not None]
    return "\n".join(found)


def test_erasure_leaves_nothing_that_names_the_member(services: Services, program_id: str, clock: FixedClock,
                                                     personal: Api) -> None:
    member = a_member_with_everything(services, program_id, clock)
    other = a_bystander(services, program_id)
    before = every_text_value(services)
    assert REF in before and DISPLAY in before and REASON in before  # held in clear until the erasure
    assert all(value not in before for value in SECRETS.values())  # personal fields: sealed from the start
    [(commitment,)] = rows(services, "SELECT commitment FROM member_log_keys WHERE member_id = :m", m=member)
    clock.advance(days=1)

    erased = personal.post(f"/v1/programs/{program_id}/members/{member}/erasure", None, key="erase-1")
    assert erased.status_code == 200, erased.text
    receipt = erased.json()
    assert receipt["forfeiture"]["points"] == 3_500  # the 1,000 held was released, then all forfeited
    assert receipt["destroyed"] == {"data_key": True, "personal_data": True, "profile": True, "profile_versions": 1,
                                    "consents_in_force": 3, "log_key": True}
    assert receipt["rewritten"]["events"] == 1 and receipt["rewritten"]["transaction_reasons"] >= 1

    after = every_text_value(services)
    for value in _values():
        assert value not in after, value
    # What stays: the pseudonymous ledger, the commitment (not its key), the consent history.
    [(ref, status, available)] = rows(services, "SELECT external_ref, status, available FROM members WHERE id = :m",
                                      m=member)
    assert (ref, status, available) == (f"erased:{member}", "closed", 0)
    assert rows(services, "SELECT key, commitment FROM member_log_keys WHERE member_id = :m", m=member) == [
        (None, commitment)]
    for table in ("member_data_keys", "member_personal_data", "member_profiles", "member_profile_history",
                  "member_consents"):
        assert rows(services, f"SELECT * FROM {table} WHERE member_id = :m", m=member) == [], table
    assert len(rows(services, "SELECT * FROM consent_history WHERE member_id = :m", m=member)) == 3
    assert [a for a, _ in audit_actions(services, member)][-1] == "member.erase"
    # The bystander keeps everything.
    assert services.personal_data.read(program_id, other, "cli")["fields"] == {"name": "Jiwoo Park",
                                                                              "email": "jiwoo@example.com"}
    assert "bystander's thanks" in after and "Jiwoo" in after
    # Nothing of the member can be read or set again.
    path = f"/v1/programs/{program_id}/members/{member}"
    assert personal.get(path + "/personal-data").json() == {"member_id": member, "fields": {}, "updated_at": None,
                                                           "erased": True}
    assert_problem(personal.client.patch(path + "/personal-data", json={"name": "X"}, headers=personal.headers("p")),
                   409, "member-erased")
    assert_problem(personal.post(path + "/consents", {"purposes": {"marketing": True}}), 409, "member-erased")
    assert_problem(personal.client.patch(path, json={"display_name": "Back"}, headers=personal.headers("q")),
                   409, "member-erased")
    assert "erased" in assert_problem(personal.get(f"{path}/log-key"), 404, "unknown-member")["detail"]
    # Their export still has the pseudonymous history, and the receipt; nothing personal.
    export = personal.get(f"{path}/export").json()
    assert export["erasure"] == receipt and export["personal_data"] == {} and export["profile"] is None
    assert export["member"]["external_ref"] == f"erased:{member}" and export["log"]["key"] is None
    assert export["balance"]["available"] == 0 and all(value not in json.dumps(export) for value in _values())
    assert services.reader.member_by_ref(program_id, f"erased:{member}")["status"] == "closed"


def test_the_sqlite_file_holds_none_of_the_members_values(services: Services, program_id: str,
                                                          clock: FixedClock, personal: Api) -> None:
    if not services.db.is_sqlite:
        pytest.skip("a search of the database file: SQLite's")
    member = a_member_with_everything(services, program_id, clock)
    a_bystander(services, program_id)
    path = Path(str(services.db.url.database))

    def files() -> bytes:
        return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())

    assert REF.encode() in files() and DISPLAY.encode() in files()  # the search finds what is there
    assert personal.post(f"/v1/programs/{program_id}/members/{member}/erasure", None).status_code == 200
    data = files()
    for value in _values():
        for encoded in {value.encode("utf-8"), value.encode("utf-16-le")}:
            assert encoded not in data, value
    assert b"Jiwoo Park" not in data and b"Jiwoo" in data  # sealed, and a bystander's clear display name


def test_erasing_again_answers_the_original_receipt(services: Services, program_id: str, clock: FixedClock,
                                                    personal: Api, admin: Api) -> None:
    member = a_member_with_everything(services, program_id, clock)
    path = f"/v1/programs/{program_id}/members/{member}/erasure"
    first = personal.post(path, None, key="erase-1").json()
    clock.advance(days=3)
    assert personal.post(path, None, key="erase-1").json() == first  # a retry
    assert personal.post(path, None, key="erase-2").json() == first  # a second request
    assert services.erasures.erase(program_id, member, "cli") == first
    assert admin.get(path).json() == first
    other = str(services.ledger.run(program_id, Enroll("someone-else"))["member"]["id"])
    assert_problem(personal.post(f"/v1/programs/{program_id}/members/{other}/erasure", None, key="erase-1"),
                   409, "idempotency-conflict")
    assert_problem(admin.get(f"/v1/programs/{program_id}/members/{other}/erasure"), 404, "unknown-erasure")
    # One forfeiture, one erasure record, one audit entry of it.
    assert len(rows(services, "SELECT * FROM member_erasures")) == 1
    assert [a for a, _ in audit_actions(services, member)].count("member.erase") == 1
    feed = admin.get(f"/v1/programs/{program_id}/erasures").json()
    assert [(i["member_id"], i["erased_at"]) for i in feed["items"]] == [(member, first["erased_at"])]
    assert feed["items"][0]["cursor"] and feed["next_cursor"] is None
    later = admin.get(f"/v1/programs/{program_id}/erasures", cursor=feed["items"][0]["cursor"]).json()
    assert later == {"items": [], "next_cursor": None}


def test_racing_erasures_get_one_receipt(services: Services, program_id: str, clock: FixedClock,
                                         personal: Api) -> None:
    member = a_member_with_everything(services, program_id, clock)
    path = f"/v1/programs/{program_id}/members/{member}/erasure"
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda n=n: answers.append(personal.post(path, None, key=f"race-{n % 2}")))
               for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.text for a in answers}) == 1
    assert len(rows(services, "SELECT * FROM member_erasures")) == 1
    assert len(rows(services, "SELECT * FROM transactions WHERE member_id = :m AND kind = 'expire'", m=member)) == 1


def test_erasure_needs_the_personal_and_write_scopes_of_the_members_program(
        services: Services, program_id: str, key_for: Callable[..., Api], member_id: str) -> None:
    services.programs.create_program("rival", "Rival", "KRW")
    path = f"/v1/programs/{program_id}/members/{member_id}/erasure"
    for scopes in ((Scope.READ, Scope.WRITE), (Scope.READ, Scope.PERSONAL)):
        assert_problem(key_for(program_id, *scopes).post(path, None), 403, "forbidden")
    rival = key_for("rival", Scope.READ, Scope.WRITE, Scope.PERSONAL)
    assert_problem(rival.post(path, None), 403, "forbidden")
    assert_problem(rival.post(f"/v1/programs/rival/members/{member_id}/erasure", None), 404, "program-mismatch")
    assert rows(services, "SELECT * FROM member_erasures") == []
    assert rows(services, "SELECT status FROM members WHERE id = :m", m=member_id) == [("active",)]


def test_the_books_and_the_log_still_verify_after_an_erasure(services: Services, clock: FixedClock,
                                                             tmp_path: Path, database_url: str) -> None:
    from logserver.support import PROGRAM, every_kind

    r = every_kind(services, clock)
    services.personal_data.update(PROGRAM, r["alice"], {"name": "Alice Liddell"}, "cli")
    services.log.integrate()
    services.log.sign()
    signed_before = services.log.checkpoint_note()
    alice_commitment = services.log.member_key(PROGRAM, r["alice"])["commitment"]
    receipt = services.erasures.erase(PROGRAM, r["alice"], "cli")
    assert receipt["forfeiture"]["points"] > 0
    services.erasures.erase(PROGRAM, r["carol"], "cli")  # closed already: nothing to forfeit
    services.log.integrate()
    services.log.sign()
    checked = dangol(database_url, "check")
    assert checked.exit_code == 0, checked.output
    assert "the books balance" in checked.stdout and "the log matches the ledger" in checked.stdout
    key_file = tmp_path / "log.vkey"
    key_file.write_text(services.log.verifier_key())
    with live(services) as url:
        mirrored = dangol(database_url, "verify", "mirror", url, str(tmp_path / "m"), "--key", str(key_file))
        assert mirrored.exit_code == 0, mirrored.output
    audited = dangol(database_url, "verify", "audit", str(tmp_path / "m"), "--json")
    assert audited.exit_code == 0, audited.output
    books = json.loads(audited.stdout)["programs"][PROGRAM]["members"]
    # Alice's commitment is still in the log, with nothing left: the books say so too.
    assert {k: books[alice_commitment][k] for k in ("available", "pending", "held")} == {
        "available": 0, "pending": 0, "held": 0}
    assert signed_before.split("\n")[1] != services.log.checkpoint_note().split("\n")[1]  # the log grew


def test_retention_erases_members_closed_long_enough_ago(services: Services, program_id: str, clock: FixedClock,
                                                         personal: Api, database_url: str) -> None:
    members = [str(services.ledger.run(program_id, Enroll(f"leaver-{i}"))["member"]["id"]) for i in range(3)]
    for member in members:
        services.personal_data.update(program_id, member, {"email": f"{member}@example.com"}, "cli")
    services.ledger.run(program_id, SetMemberStatus(members[0], MemberStatus.CLOSED))
    clock.advance(days=10)
    services.ledger.run(program_id, SetMemberStatus(members[1], MemberStatus.CLOSED))
    put = personal.client.put(f"/v1/programs/{program_id}/privacy-policy",
                              json={"erase_after_closed_days": 30, "audit_log_days": 20}, headers=personal.headers())
    assert put.status_code == 200, put.text
    clock.advance(days=25)  # members[0] closed 35 days ago, members[1] 25 days ago, members[2] active
    run = personal.post(f"/v1/programs/{program_id}/retention-runs", None, key="retention-1")
    assert run.status_code == 200, run.text
    assert run.json()["erased"] == [members[0]]
    assert run.json()["audit_entries_removed"] == 3  # the three changes, 35 days ago
    assert personal.post(f"/v1/programs/{program_id}/retention-runs", None, key="retention-1").json() == run.json()
    clock.advance(days=5)
    again = dangol(database_url, "privacy", "retention", "--json")  # the CLI's clock is the real one: far later
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["erased"] == [members[1]]
    assert services.erasures.receipt(program_id, members[0])["requested_by"] == "retention"
    assert services.personal_data.read(program_id, members[2], "cli")["fields"] == {
        "email": f"{members[2]}@example.com"}


def test_the_cli_erases_only_when_told_it_is_final(services: Services, program_id: str, clock: FixedClock,
                                                   database_url: str) -> None:
    member = a_member_with_everything(services, program_id, clock)
    refused = dangol(database_url, "members", "erase", "--ref", REF)
    assert refused.exit_code == 2 and refused.stderr.strip() == "error: erasure is final: pass --yes to erase the member"
    done = dangol(database_url, "members", "erase", "--ref", REF, "--yes")
    assert done.exit_code == 0, done.output
    assert f"Erased member {member}" in done.stdout and "3,500 points forfeited" in done.stdout
    assert dangol(database_url, "members", "erase", member, "--yes").stdout == done.stdout
    gone = dangol(database_url, "members", "personal", "--ref", REF)
    assert gone.exit_code == 2 and "no member with reference" in gone.stderr
    listed = json.loads(dangol(database_url, "members", "erasures", "--json").stdout)
    assert [i["member_id"] for i in listed] == [member]


