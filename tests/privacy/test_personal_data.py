"""Members' personal data over HTTP, on both databases: sealed at rest, read and changed only
with the personal scope, every read and change in the audit log; bad values refused with
the field named; idempotent; nothing of another program's members reachable."""

from __future__ import annotations

import threading
from collections.abc import Callable

from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.service.programs import Scope

from api.helpers import Api, assert_problem
from .conftest import audit_actions, rows

MINJI = {"name": "김민지", "email": "minji@example.com", "phone": "+82 10-1234-5678", "birthday": "1990-05-17",
         "address": "서울시 중구 세종대로 110"}


def patch(api: Api, path: str, body: object, key: str) -> object:
    return api.client.patch(path, json=body, headers=api.headers(key))


def test_personal_data_is_sealed_at_rest_and_read_with_the_personal_scope(
        personal: Api, key_for: Callable[..., Api], services: Services, program_id: str, member_id: str) -> None:
    path = f"/v1/programs/{program_id}/members/{member_id}/personal-data"
    written = patch(personal, path, MINJI, "pd-1")
    assert written.status_code == 200, written.text
    # The answer names the fields, never their values.
    assert written.json() == {"member_id": member_id, "fields": sorted(MINJI), "updated_at": "2026-01-01T09:00:00Z"}
    read = personal.get(path)
    assert read.status_code == 200 and read.json() == {"member_id": member_id, "fields": MINJI,
                                                       "updated_at": "2026-01-01T09:00:00Z", "erased": False}
    # At rest: one sealed value, a wrapped data key; no value in clear anywhere, not in the
    # stored answer of the idempotent request either.
    [(sealed,)] = rows(services, "SELECT sealed FROM member_personal_data WHERE member_id = :m", m=member_id)
    [(wrapped,)] = rows(services, "SELECT wrapped_key FROM member_data_keys WHERE member_id = :m", m=member_id)
    stored = " ".join(r.response + r.fingerprint for r in rows(services, "SELECT * FROM idempotency_keys"))
    for value in MINJI.values():
        assert value.encode() not in bytes(sealed) and value not in stored
    assert len(bytes(wrapped)) == 12 + 32 + 16  # nonce, AES-256 key, tag
    actor = f"api-key:{personal.token.split('_')[1]}"
    assert audit_actions(services, member_id) == [("personal_data.update", actor), ("personal_data.read", actor)]

    # Neither read nor write reaches personal data; nothing is read, and no read is recorded.
    for scopes in ((Scope.READ,), (Scope.READ, Scope.WRITE)):
        other = key_for(program_id, *scopes)
        assert "lacks the 'personal' scope" in assert_problem(other.get(path), 403, "forbidden")["detail"]
        assert_problem(patch(other, path, {"name": "Mallory"}, "pd-x"), 403, "forbidden")
    assert len(audit_actions(services, member_id)) == 2
    assert personal.get(path).json()["fields"]["name"] == "김민지"


def test_a_change_sets_and_clears_fields_and_keeps_the_others(personal: Api, program_id: str, member_id: str,
                                                              clock: FixedClock) -> None:
    path = f"/v1/programs/{program_id}/members/{member_id}/personal-data"
    assert patch(personal, path, MINJI, "pd-1").status_code == 200
    clock.advance(days=1)
    changed = patch(personal, path, {"phone": None, "email": "minji@example.kr"}, "pd-2")
    assert changed.json()["fields"] == ["address", "birthday", "email", "name"]
    assert personal.get(path).json()["fields"] == {**{k: v for k, v in MINJI.items() if k != "phone"},
                                                   "email": "minji@example.kr"}
    cleared = patch(personal, path, {name: None for name in MINJI}, "pd-3")
    assert cleared.json() == {"member_id": member_id, "fields": [], "updated_at": None}
    assert personal.get(path).json()["fields"] == {}


def test_invalid_values_are_a_422_naming_the_field_and_change_nothing(
        personal: Api, services: Services, program_id: str, member_id: str, clock: FixedClock) -> None:
    path = f"/v1/programs/{program_id}/members/{member_id}/personal-data"
    assert patch(personal, path, {"name": "김민지"}, "pd-1").status_code == 200
    for body, field in (({"email": "minji@"}, "email"), ({"name": "Kim", "birthday": "2026-01-03"}, "birthday"),
                        ({"phone": "call me"}, "phone"), ({"shoe_size": "42"}, "shoe_size")):
        problem = assert_problem(patch(personal, path, body, f"bad-{field}"), 422, "validation-error")
        assert problem["field"] == field and problem["detail"].startswith(f"{field}: "), problem
    assert_problem(patch(personal, path, {"name": 7}, "bad-type"), 422, "validation-error")
    assert_problem(patch(personal, path, {}, "bad-empty"), 422, "validation-error")
    assert_problem(patch(personal, path, {"birthday": "2026-01-02"}, "bad-tomorrow"), 422, "validation-error")
    # 12:00 UTC: 2 January has begun in UTC+14 (Kiritimati), so it is not in the future.
    clock.advance(hours=3)
    assert patch(personal, path, {"birthday": "2026-01-02"}, "pd-2").status_code == 200
    assert personal.get(path).json()["fields"] == {"name": "김민지", "birthday": "2026-01-02"}
    assert [a for a, _ in audit_actions(services, member_id)].count("personal_data.update") == 2


def test_a_change_is_idempotent_even_when_retries_race(personal: Api, program_id: str, member_id: str) -> None:
    path = f"/v1/programs/{program_id}/members/{member_id}/personal-data"
    answers: list[object] = []

    def send() -> None:
        answers.append(patch(personal, path, MINJI, "pd-race"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.status_code for a in answers} == {200}  # type: ignore[attr-defined]
    assert len({a.text for a in answers}) == 1  # type: ignore[attr-defined]
    assert_problem(patch(personal, path, {**MINJI, "name": "Other"}, "pd-race"), 409, "idempotency-conflict")
    assert personal.get(path).json()["fields"] == MINJI


def test_another_programs_member_is_out_of_reach(personal: Api, key_for: Callable[..., Api], services: Services,
                                                 program_id: str, member_id: str) -> None:
    services.programs.create_program("rival", "Rival", "KRW")
    rival = key_for("rival", Scope.READ, Scope.WRITE, Scope.PERSONAL)
    path = f"/v1/programs/{program_id}/members/{member_id}/personal-data"
    assert patch(personal, path, MINJI, "pd-1").status_code == 200
    before = rows(services, "SELECT * FROM audit_log ORDER BY id")
    # The rival's key on our program: 403. Our member under the rival's program: 404.
    assert "belongs to program 'rival'" in assert_problem(rival.get(path), 403, "forbidden")["detail"]
    assert_problem(patch(rival, path, {"name": "Mallory"}, "x-1"), 403, "forbidden")
    elsewhere = f"/v1/programs/rival/members/{member_id}/personal-data"
    assert_problem(rival.get(elsewhere), 404, "program-mismatch")
    assert_problem(patch(rival, elsewhere, {"name": "Mallory"}, "x-2"), 404, "program-mismatch")
    assert_problem(rival.get("/v1/programs/rival/members/m_nobody/personal-data"), 404, "unknown-member")
    assert rows(services, "SELECT * FROM audit_log ORDER BY id") == before
    assert personal.get(path).json()["fields"] == MINJI


def test_a_revoked_key_reads_nothing(personal: Api, services: Services, program_id: str, member_id: str) -> None:
    path = f"/v1/programs/{program_id}/members/{member_id}/personal-data"
    assert patch(personal, path, MINJI, "pd-1").status_code == 200
    key_id = personal.token.split("_")[1]
    services.programs.revoke_api_key(key_id)
    assert_problem(personal.get(path), 401, "unauthorized")
    assert [a for a, _ in audit_actions(services, member_id)] == ["personal_data.update"]


def test_the_program_chooses_its_personal_fields(personal: Api, program_id: str, member_id: str) -> None:
    policy = f"/v1/programs/{program_id}/privacy-policy"
    assert personal.get(policy).json()["fields"] == {"name": "text", "email": "email", "phone": "phone",
                                                     "birthday": "date", "address": "address"}
    put = personal.client.put(policy, json={"fields": {"name": "text", "email": "email", "card_number": "text"},
                                            "erase_after_closed_days": 30}, headers=personal.headers())
    assert put.status_code == 200, put.text
    assert put.json()["fields"] == {"name": "text", "email": "email", "card_number": "text"}
    assert put.json()["erase_after_closed_days"] == 30 and put.json()["audit_log_days"] is None
    path = f"/v1/programs/{program_id}/members/{member_id}/personal-data"
    assert patch(personal, path, {"card_number": "LC-0042"}, "pd-1").json()["fields"] == ["card_number"]
    assert assert_problem(patch(personal, path, {"phone": "010-1234-5678"}, "pd-2"), 422,
                          "validation-error")["field"] == "phone"
    bad = personal.client.put(policy, json={"fields": {"name": "colour"}}, headers=personal.headers())
    assert_problem(bad, 422, "validation-error")
    assert personal.get(policy).json()["fields"]["card_number"] == "text"


def test_an_unreadable_key_file_is_a_503_not_a_500(personal: Api, services: Services, program_id: str,
                                                  member_id: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = f"/v1/programs/{program_id}/members/{member_id}/personal-data"
    assert patch(personal, path, MINJI, "pd-1").status_code == 200
    (tmp_path / "dangol-data.key").write_text("# the keys were lost\n")
    problem = assert_problem(personal.get(path), 503, "data-keys-unavailable")
    assert "dangol-data.key" in problem["detail"] and "no key-encryption key" in problem["detail"]
    assert [a for a, _ in audit_actions(services, member_id)] == ["personal_data.update"]


def test_reads_are_recorded_in_the_audit_log(personal: Api, services: Services, program_id: str,
                                             member_id: str, clock: FixedClock) -> None:
    path = f"/v1/programs/{program_id}/members/{member_id}/personal-data"
    patch(personal, path, MINJI, "pd-1")
    clock.advance(minutes=5)
    personal.get(path)
    log = personal.get(f"/v1/programs/{program_id}/audit-log", member_id=member_id).json()
    assert [(e["action"], e["at"], e["detail"]) for e in log["items"]] == [
        ("personal_data.update", "2026-01-01T09:00:00Z", {"fields": sorted(MINJI)}),
        ("personal_data.read", "2026-01-01T09:05:00Z", {"fields": sorted(MINJI)})]
    assert log["next_cursor"] is None
    page = personal.get(f"/v1/programs/{program_id}/audit-log", limit=1).json()
    assert len(page["items"]) == 1 and page["next_cursor"] is not None
