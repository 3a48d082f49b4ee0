"""The portal's Privacy page without a browser, on SQLite and PostgreSQL: consents changed
through the same history as the API's, the export as the API's archive and in the audit log,
CSRF refusals that write nothing, and one member never reaching another's data."""

from __future__ import annotations

import io
import json
import re
import zipfile

from fastapi.testclient import TestClient

from dangol.service.container import Services

from .test_portal_access import MARKET, app_client, key, link, member  # noqa: F401  (fixtures)


def sign_in(client: TestClient, key: dict[str, str], ref: str) -> str:
    found = member(client, key, ref, 500)
    client.get(link(client, key, found))
    return found


def form_of(client: TestClient, page_name: str = "privacy") -> dict[str, str]:
    page = client.get(f"/portal/market/{page_name}", headers={"Accept-Language": "en"}).text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    request_id = re.search(r'name="request_id" value="([0-9a-f]{32})"', page)
    assert token and request_id, "not signed in"
    return {"csrf_token": token.group(1), "request_id": request_id.group(1)}


def test_a_member_changes_a_consent_and_it_is_in_the_same_history_as_the_apis(
        app_client: TestClient, key: dict[str, str], services: Services) -> None:
    alice = sign_in(app_client, key, "alice")
    page = app_client.get("/portal/market/privacy", headers={"Accept-Language": "en"}).text
    assert "Marketing messages" in page and 'name="marketing" value="no" checked' in page
    form = {**form_of(app_client), "marketing": "yes", "personalisation": "no", "partner_sharing": "no"}
    saved = app_client.post("/portal/market/privacy/consents", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/portal/market/privacy?done=consents"
    assert 'name="marketing" value="yes" checked' in app_client.get("/portal/market/privacy").text
    # The same form again (a double click): the same answer, recorded once.
    assert app_client.post("/portal/market/privacy/consents", data=form, follow_redirects=False).status_code == 303
    api = app_client.get(f"{MARKET}/members/{alice}/consents", headers=key).json()
    assert api["purposes"]["marketing"]["granted"] is True
    [record] = [r for r in api["history"] if r["purpose"] == "marketing"]
    assert (record["source"], record["notice_version"]) == ("portal", "portal-1")


def test_a_missing_answer_is_shown_at_its_purpose_and_nothing_is_recorded(
        app_client: TestClient, key: dict[str, str]) -> None:
    alice = sign_in(app_client, key, "alice")
    form = {**form_of(app_client), "marketing": "yes", "partner_sharing": "maybe"}
    refused = app_client.post("/portal/market/privacy/consents", data=form, headers={"Accept-Language": "ko"})
    assert refused.status_code == 422
    assert 'data-field="personalisation">허용 여부를 선택하세요.' in refused.text
    assert 'data-field="partner_sharing"' in refused.text and 'data-field="marketing"' not in refused.text
    assert 'name="marketing" value="yes" checked' in refused.text  # what was chosen is kept
    assert app_client.get(f"{MARKET}/members/{alice}/consents", headers=key).json()["history"] == []


def test_forms_without_the_session_token_are_refused_and_write_nothing(
        app_client: TestClient, key: dict[str, str]) -> None:
    alice = sign_in(app_client, key, "alice")
    form = {**form_of(app_client), "marketing": "yes", "personalisation": "yes", "partner_sharing": "yes"}
    forged = app_client.post("/portal/market/privacy/consents", data={**form, "csrf_token": "0" * 64},
                             follow_redirects=False)
    assert forged.status_code == 403
    assert app_client.post("/portal/market/privacy/export", data={}, follow_redirects=False).status_code == 403
    assert app_client.get(f"{MARKET}/members/{alice}/consents", headers=key).json()["history"] == []
    audit = app_client.get(f"{MARKET}/audit-log", headers=key)
    assert audit.status_code == 403 or audit.json()["items"] == []


def test_the_export_is_the_members_archive_and_is_in_the_audit_log(
        app_client: TestClient, key: dict[str, str], services: Services) -> None:
    alice = sign_in(app_client, key, "alice")
    sign_in(TestClient(app_client.app, base_url="https://portal.test"), key, "bob")
    download = app_client.post("/portal/market/privacy/export", data={"csrf_token": form_of(app_client)["csrf_token"]})
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert f'filename="{alice}.zip"' in download.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        body = json.loads(archive.read("export.json"))
        assert "transactions.csv" in archive.namelist()
    assert body["member"]["id"] == alice and body["balance"]["available"] == 500
    entries = services.audit_log.entries("market", alice).items
    assert [(e["action"], e["actor"]) for e in entries] == [("member.export", f"member:{alice}")]


def test_a_member_never_reaches_another_members_data(app_client: TestClient, key: dict[str, str]) -> None:
    alice = sign_in(app_client, key, "alice")
    other = TestClient(app_client.app, base_url="https://portal.test")
    bob = sign_in(other, key, "bob")
    # Bob's session and token, whatever Alice's member number he sends: only his own data.
    form = {**form_of(other), "marketing": "yes", "personalisation": "yes", "partner_sharing": "yes",
            "member_id": alice}
    assert other.post("/portal/market/privacy/consents", data=form, follow_redirects=False).status_code == 303
    assert app_client.get(f"{MARKET}/members/{alice}/consents", headers=key).json()["history"] == []
    assert len(app_client.get(f"{MARKET}/members/{bob}/consents", headers=key).json()["history"]) == 3
    with zipfile.ZipFile(io.BytesIO(other.post("/portal/market/privacy/export",
                                               data={"csrf_token": form_of(other)["csrf_token"],
                                                     "member_id": alice}).content)) as archive:
        assert json.loads(archive.read("export.json"))["member"]["id"] == bob
    # Alice's token with Bob's cookie is refused: a token is bound to its session.
    stolen = form_of(app_client)["csrf_token"]
    assert other.post("/portal/market/privacy/export", data={"csrf_token": stolen},
                      follow_redirects=False).status_code == 403


def test_without_a_session_the_privacy_pages_send_to_sign_in(app_client: TestClient) -> None:
    assert app_client.get("/portal/market/privacy", follow_redirects=False).headers["location"].endswith(
        "reason=session")
    assert app_client.post("/portal/market/privacy/export", data={}, follow_redirects=False).headers[
        "location"].endswith("reason=session")


def test_a_member_chooses_channels_per_kind_and_marketing_only_once_consented(
        app_client: TestClient, key: dict[str, str]) -> None:
    alice = sign_in(app_client, key, "alice")
    page = app_client.get("/portal/market/messages", headers={"Accept-Language": "en"}).text
    assert 'name="points.expiring" value="email" checked' in page
    assert 'name="coupon.issued"' not in page and "Sent only if you allow marketing messages." in page
    form = {**form_of(app_client, "messages"), "language": "en", "points.earned": ["push", "sms"],
            "coupon.issued": "email"}
    saved = app_client.post("/portal/market/messages", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].endswith("/messages?done=messages")
    chosen = app_client.get(f"{MARKET}/members/{alice}/notification-preferences", headers=key).json()
    assert chosen["language"] == "en" and chosen["channels"]["points.earned"] == ["push", "sms"]
    assert chosen["channels"]["points.expiring"] == []  # unchecked: off
    assert chosen["channels"]["coupon.issued"] == ["email"]  # not offered without consent: the default kept
    consent = {**form_of(app_client), "marketing": "yes", "personalisation": "no", "partner_sharing": "no"}
    assert app_client.post("/portal/market/privacy/consents", data=consent, follow_redirects=False).status_code == 303
    assert 'name="coupon.issued" value="email" checked' in app_client.get("/portal/market/messages").text
    off = {**form_of(app_client, "messages"), "language": "ko"}
    assert app_client.post("/portal/market/messages", data=off, follow_redirects=False).status_code == 303
    chosen = app_client.get(f"{MARKET}/members/{alice}/notification-preferences", headers=key).json()
    assert chosen["language"] == "ko" and chosen["channels"]["coupon.issued"] == []


def test_a_bad_or_forged_messages_form_changes_nothing(app_client: TestClient, key: dict[str, str]) -> None:
    alice = sign_in(app_client, key, "alice")
    form = {**form_of(app_client, "messages"), "points.earned": "push"}
    refused = app_client.post("/portal/market/messages", data={**form, "language": "fr"},
                              headers={"Accept-Language": "en"})
    assert refused.status_code == 422 and 'data-field="language">Choose a language.' in refused.text
    forged = app_client.post("/portal/market/messages", data={**form, "language": "en", "csrf_token": "0" * 64},
                             follow_redirects=False)
    assert forged.status_code == 403
    chosen = app_client.get(f"{MARKET}/members/{alice}/notification-preferences", headers=key).json()
    assert chosen["language"] is None and chosen["channels"]["points.earned"] == []
