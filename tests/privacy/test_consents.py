"""Consent per purpose, on both databases: answers recorded with their history (when, how,
under which notice), the questions every use of member data asks, and each consumer there
is today leaving out who did not consent."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from alembic import command

from dangol.domain import FixedClock
from dangol.domain.commands import Earn, Enroll
from dangol.privacy import Purpose
from dangol.service.container import Services
from dangol.storage.migrate import alembic_config, upgrade

from api.helpers import Api, assert_problem
from .conftest import rows


def enrol(services: Services, program_id: str, ref: str) -> str:
    return str(services.ledger.run(program_id, Enroll(ref))["member"]["id"])


def test_answers_are_recorded_with_when_how_and_which_notice(admin: Api, program_id: str, member_id: str,
                                                             clock: FixedClock) -> None:
    path = f"/v1/programs/{program_id}/members/{member_id}/consents"
    never = admin.get(path).json()
    assert never["purposes"] == {p.value: {"granted": False, "record": None} for p in Purpose}
    assert never["history"] == []
    given = admin.post(path, {"purposes": {"marketing": True, "partner_sharing": False}, "source": "portal",
                              "notice_version": "2026-01", "occurred_at": "2026-01-01T08:30:00+09:00"}, key="c-1")
    assert given.status_code == 200, given.text
    assert given.json()["purposes"]["marketing"] == {"granted": True, "record": {
        "purpose": "marketing", "granted": True, "source": "portal", "notice_version": "2026-01",
        "occurred_at": "2025-12-31T23:30:00Z"}}
    # Withdrawing what was never granted is no change: partner_sharing has no record.
    assert given.json()["purposes"]["partner_sharing"] == {"granted": False, "record": None}
    assert admin.post(path, {"purposes": {"marketing": True, "partner_sharing": False}, "source": "portal",
                             "notice_version": "2026-01", "occurred_at": "2026-01-01T08:30:00+09:00"},
                      key="c-1").json() == given.json()  # a retry
    assert_problem(admin.post(path, {"purposes": {"marketing": False}}, key="c-1"), 409, "idempotency-conflict")
    clock.advance(days=10)
    admin.post(path, {"purposes": {"marketing": True}, "source": "portal", "notice_version": "2026-01"}, key="c-2")
    admin.post(path, {"purposes": {"marketing": False, "personalisation": True}, "source": "console"}, key="c-3")
    state = admin.get(path).json()
    assert [(h["purpose"], h["granted"], h["source"], h["notice_version"], h["occurred_at"], h["recorded_at"])
            for h in state["history"]] == [
        ("marketing", True, "portal", "2026-01", "2025-12-31T23:30:00Z", "2026-01-01T09:00:00Z"),
        ("marketing", False, "console", None, "2026-01-11T09:00:00Z", "2026-01-11T09:00:00Z"),
        ("personalisation", True, "console", None, "2026-01-11T09:00:00Z", "2026-01-11T09:00:00Z")]
    assert {p: s["granted"] for p, s in state["purposes"].items()} == {
        "marketing": False, "personalisation": True, "partner_sharing": False, "leaderboard": False}


def test_a_retry_racing_its_original_gets_the_same_answer(admin: Api, services: Services, program_id: str,
                                                          member_id: str) -> None:
    path = f"/v1/programs/{program_id}/members/{member_id}/consents"
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda: answers.append(admin.post(path, {"purposes": {"marketing": True}},
                                                                          key="race")))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 4 and len({a.text for a in answers}) == 1
    assert len(rows(services, "SELECT * FROM consent_history WHERE member_id = :m", m=member_id)) == 1


def test_bad_answers_are_refused_and_change_nothing(admin: Api, services: Services, program_id: str,
                                                    member_id: str) -> None:
    path = f"/v1/programs/{program_id}/members/{member_id}/consents"
    for body in ({"purposes": {}}, {"purposes": {"newsletters": True}}, {"purposes": {"marketing": "yes"}},
                 {"purposes": {"marketing": True}, "source": "fax"},
                 {"purposes": {"marketing": True}, "occurred_at": "2026-02-01T00:00:00Z"},
                 {"purposes": {"marketing": True}, "notice_version": "has spaces"}):
        assert_problem(admin.post(path, body), 422, "validation-error")
    assert_problem(admin.post(f"/v1/programs/{program_id}/members/m_nobody/consents", {"purposes": {"marketing": True}}),
                   404, "unknown-member")
    assert rows(services, "SELECT * FROM consent_history") == []


def test_the_questions_leave_out_every_member_who_did_not_consent(services: Services, program_id: str,
                                                                  admin: Api) -> None:
    """The hooks a marketing sender, an analytics or training job and a partner feed call
    (none of those consumers exists yet): only members who granted the purpose."""
    ana, ben, cho, dan = (enrol(services, program_id, ref) for ref in ("ana", "ben", "cho", "dan"))
    consents = services.consents
    consents.change(program_id, ana, {"marketing": True, "personalisation": True, "partner_sharing": True}, "api")
    consents.change(program_id, ben, {"marketing": True}, "portal")
    consents.change(program_id, cho, {"marketing": True, "partner_sharing": True}, "api")
    consents.change(program_id, cho, {"marketing": False}, "portal")  # withdrawn since
    # dan was never asked.
    expected = {Purpose.MARKETING: {ana, ben}, Purpose.PERSONALISATION: {ana}, Purpose.PARTNER_SHARING: {ana, cho},
                Purpose.LEADERBOARD: set()}
    for purpose, allowed in expected.items():
        assert {m for m in (ana, ben, cho, dan) if consents.allows(program_id, m, purpose)} == allowed
        with services.db.read() as conn:
            assert consents.allowed_among(conn, program_id, purpose, [ana, ben, cho, dan]) == allowed
        pages, cursor = [], None
        while True:
            page = consents.consenting(program_id, purpose.value, cursor=cursor, limit=1)
            pages += [item["member_id"] for item in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert pages == sorted(allowed)
        api = admin.get(f"/v1/programs/{program_id}/consents/{purpose.value}/members").json()
        assert [i["member_id"] for i in api["items"]] == sorted(allowed)
    assert_problem(admin.get(f"/v1/programs/{program_id}/consents/newsletters/members"), 422, "validation-error")


def test_the_leaderboard_shows_only_members_who_consent_to_it(admin: Api, services: Services,
                                                              program_id: str) -> None:
    """The leaderboard is the one consumer of member data for another purpose than their
    account that exists today: its opt-in is the `leaderboard` consent, either way round."""
    march = datetime(2025, 3, 10, tzinfo=timezone.utc)
    members = {}
    for ref, name, points in (("alice", "Alice", 1_200), ("bob", "Bob", 800), ("carol", "Carol", 500)):
        members[ref] = enrol(services, program_id, ref)
        services.ledger.run(program_id, Earn(members[ref], points=points), at=march)
    services.profiles.update(program_id, members["alice"], {"display_name": "Alice", "leaderboard_opt_in": True})
    services.profiles.update(program_id, members["bob"], {"display_name": "Bob"})
    consent = f"/v1/programs/{program_id}/members/{members['bob']}/consents"
    assert admin.post(consent, {"purposes": {"leaderboard": True}, "source": "portal", "notice_version": "v3"}
                      ).status_code == 200
    # Carol has no display name: consenting to be shown is refused, and nothing is recorded.
    refused = admin.post(f"/v1/programs/{program_id}/members/{members['carol']}/consents",
                         {"purposes": {"leaderboard": True}})
    assert assert_problem(refused, 422, "validation-error")["field"] == "leaderboard"

    def board() -> list[str]:
        found = admin.get(f"/v1/programs/{program_id}/leaderboards/monthly", month="2025-03").json()
        return [e["display_name"] for e in found["entries"]]

    assert board() == ["Alice", "Bob"]
    assert admin.get(f"/v1/programs/{program_id}/members/{members['bob']}").json()["profile"]["leaderboard_opt_in"]
    # Alice withdraws through the consent API: she leaves the board, and her profile says so.
    admin.post(f"/v1/programs/{program_id}/members/{members['alice']}/consents", {"purposes": {"leaderboard": False}})
    assert board() == ["Bob"]
    assert not admin.get(f"/v1/programs/{program_id}/members/{members['alice']}").json()["profile"][
        "leaderboard_opt_in"]
    # Bob withdraws through his profile: the consent follows.
    services.profiles.update(program_id, members["bob"], {"leaderboard_opt_in": False})
    assert board() == []
    history = admin.get(consent).json()["history"]
    assert [(h["granted"], h["source"], h["notice_version"]) for h in history] == [
        (True, "portal", "v3"), (False, "api", None)]
    assert not services.consents.allows(program_id, members["bob"], Purpose.LEADERBOARD)
    assert rows(services, "SELECT * FROM consent_history WHERE member_id = :m", m=members["carol"]) == []


def test_opt_ins_from_before_consents_become_leaderboard_consents(services: Services, program_id: str,
                                                                  clock: FixedClock) -> None:
    ana, ben = enrol(services, program_id, "ana"), enrol(services, program_id, "ben")
    config = alembic_config()
    with services.db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0010")  # the schema before consents
    with services.db.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO member_profiles (member_id, program_id, tags, display_name, leaderboard_opt_in, updated_at) "
            f"VALUES ('{ana}', '{program_id}', '[]', 'Ana', TRUE, 1767225600000000), "
            f"('{ben}', '{program_id}', '[]', 'Ben', FALSE, 1767225600000000)")
    upgrade(services.db)
    assert services.consents.allows(program_id, ana, Purpose.LEADERBOARD)
    assert not services.consents.allows(program_id, ben, Purpose.LEADERBOARD)
    [record] = services.consents.state(program_id, ana)["history"]
    assert (record["granted"], record["occurred_at"]) == (True, "2026-01-01T00:00:00Z")
