"""The member portal's pages: `/portal/{program}/…`, for the member of the session only."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...domain import commands as cmd
from ...domain.errors import DomainError, InvalidRequest
from ...service.ledger import MEMBER_ID
from ...domain.portal import LinkRefusal
from ...domain.program import PROGRAM_ID
from ...service.container import Services
from ..rendering import Pages, remember_language
from .session import COOKIE, Visit, current_visit, portal_path, set_session_cookie, to_sign_in
from ..csrf import FIELD as CSRF_FIELD
from ..csrf import csrf_ok
from .forms import FormResult, points_field, refusal
from .messages import messages_view, save_preferences
from .privacy import change_consents, export_archive, privacy_view
from .views import N_, act_view, history_view, home_view, program_time_zone, rules_view

router = APIRouter(prefix="/portal/{program_id}", include_in_schema=False)
ProgramId = Path(pattern=PROGRAM_ID.pattern)

# What the sign-in page says after a refused link or an ended session.
REASONS = {
    LinkRefusal.USED.value: N_("This sign-in link was already used. Ask for a new one where you got it."),
    LinkRefusal.EXPIRED.value: N_("This sign-in link has expired. Ask for a new one where you got it."),
    LinkRefusal.UNKNOWN.value: N_("This sign-in link is not valid. Ask for a new one where you got it."),
    "session": N_("Your session has ended. Sign in again with a new link."),
    "signed-out": N_("You are signed out."),
    "forged": N_("That form was stale or not sent by this page. Sign in again and retry."),
}
DONE = {
    "redeemed": N_("Done: the points were redeemed."),
    "gifted": N_("Done: the points were gifted."),
    "leaderboard": N_("Done: your leaderboard choice is saved."),
    "consents": N_("Done: your privacy choices are saved."),
    "messages": N_("Done: your message choices are saved."),
}
FORMS = ("redeem", "gift", "leaderboard")
REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
DISPLAY_NAME_REQUIRED = N_("Choose a display name to show on the leaderboard.")
DISPLAY_NAME_REFUSED = N_("That display name cannot be used (at most 40 characters).")


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


async def _visit(request: Request, program_id: str) -> Visit | None:
    return await run_in_threadpool(current_visit, _services(request), request, program_id)


async def _page(request: Request, program_id: str, template: str, build: Callable[[Services, Visit], dict[str, Any]],
                active: str, *, visit: Visit | None = None, extra: dict[str, Any] | None = None,
                status_code: int = 200) -> Response:
    visit = visit or await _visit(request, program_id)
    if visit is None:
        return to_sign_in(program_id, "session", end_session=True)
    services = _services(request)
    try:
        context, time_zone = await run_in_threadpool(lambda: (build(services, visit),
                                                              program_time_zone(services, program_id)))
    except DomainError:
        return to_sign_in(program_id, "session", end_session=True)  # the member or program is gone: nothing to show
    return _pages(request).render(request, template, {
        **context, **(extra or {}), "program_id": program_id, "active": active, "csrf_token": visit.csrf,
        "portal": lambda page="": portal_path(program_id, page)}, time_zone=time_zone, status_code=status_code)


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, program_id: str = ProgramId, reason: str | None = None) -> Response:
    pages = _pages(request)
    message = REASONS.get(reason or "")
    notice = pages.gettext(pages.locale_of(request), message) if message else None
    return pages.render(request, "portal/sign_in.html", {"program_id": program_id, "notice": notice},
                        status_code=200)


@router.get("/link/{token}")
async def open_link(request: Request, token: str, program_id: str = ProgramId) -> Response:
    services = _services(request)
    if len(token) > 100:
        return to_sign_in(program_id, LinkRefusal.UNKNOWN.value)
    opened = await run_in_threadpool(services.portal.open_link, program_id, token)
    if isinstance(opened, LinkRefusal):
        return to_sign_in(program_id, opened.value)
    response = RedirectResponse(portal_path(program_id), status_code=303)
    set_session_cookie(response, program_id, opened.token)
    remember_language(request, response)  # a brand may send its member on in the member's language
    return response


def _forged(request: Request, program_id: str) -> Response:
    """A form without this session's CSRF token: refused, nothing written, back to sign-in."""
    pages = _pages(request)
    notice = pages.gettext(pages.locale_of(request), REASONS["forged"])
    return pages.render(request, "portal/sign_in.html", {"program_id": program_id, "notice": notice},
                        status_code=403)


async def _posted(request: Request, program_id: str) -> tuple[Visit | None, dict[str, str], Response | None]:
    """The session and the form's fields of a POST, or the answer refusing it."""
    visit = await _visit(request, program_id)
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    if visit is None:
        return None, values, to_sign_in(program_id, "session", end_session=True)
    if not csrf_ok(visit.secret, request, values.get(CSRF_FIELD)):
        return None, values, _forged(request, program_id)
    return visit, values, None


@router.post("/sign-out")
async def sign_out(request: Request, program_id: str = ProgramId) -> Response:
    visit, _, refused = await _posted(request, program_id)
    if visit is None:
        return refused or to_sign_in(program_id, "session", end_session=True)
    await run_in_threadpool(_services(request).portal.sign_out, visit.secret)
    return to_sign_in(program_id, "signed-out", end_session=True)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, program_id: str = ProgramId) -> Response:
    return await _page(request, program_id, "portal/home.html", home_view, "home")


@router.get("/history", response_class=HTMLResponse)
async def history(request: Request, program_id: str = ProgramId, cursor: str | None = None) -> Response:
    if cursor is not None and not cursor.isdigit():
        cursor = None
    return await _page(request, program_id, "portal/history.html",
                       lambda services, visit: history_view(services, visit, cursor), "history")


@router.get("/rules", response_class=HTMLResponse)
async def rules(request: Request, program_id: str = ProgramId) -> Response:
    return await _page(request, program_id, "portal/rules.html", rules_view, "rules")


def _forms(request: Request, names: tuple[str, ...] = FORMS, failed: str | None = None,
           result: FormResult | None = None) -> dict[str, Any]:
    """Each form of a page: a fresh request id (its idempotency key), and the failed one's
    values and errors, translated."""
    pages = _pages(request)
    locale = pages.locale_of(request)
    forms: dict[str, Any] = {}
    for name in names:
        shown = result if name == failed and result is not None else FormResult()
        forms[name] = {"typed": shown.values, "request_id": secrets.token_hex(16),
                       "errors": {k: pages.gettext(locale, v) for k, v in shown.errors.items()}}
    done = DONE.get(request.query_params.get("done", ""))
    return {"forms": forms, "notice": pages.gettext(locale, done) if done else None}


@router.get("/act", response_class=HTMLResponse)
async def act(request: Request, program_id: str = ProgramId) -> Response:
    return await _page(request, program_id, "portal/act.html", act_view, "act", extra=_forms(request))


# A page of forms: its address, template, what it shows and the names of its forms.
FormPage = tuple[str, str, Callable[[Services, Visit], dict[str, Any]], tuple[str, ...]]
ACT_PAGE: FormPage = ("act", "portal/act.html", act_view, FORMS)
PRIVACY_PAGE: FormPage = ("privacy", "portal/privacy.html", privacy_view, ("consents",))
MESSAGES_PAGE: FormPage = ("messages", "portal/messages.html", messages_view, ("messages",))


async def _act(request: Request, program_id: str, name: str,
               write: Callable[[Services, Visit, dict[str, str], FormResult], str | None],
               form_page: FormPage = ACT_PAGE) -> Response:
    """Runs one form: the session and CSRF token first, then the fields, then the write
    through the services (nothing written on any error); back to its page either way."""
    page, template, view, names = form_page
    visit, values, refused = await _posted(request, program_id)
    if visit is None:
        return refused or to_sign_in(program_id, "session", end_session=True)
    result = FormResult(values={k: v for k, v in values.items() if k != CSRF_FIELD})
    request_id = values.get("request_id", "")
    if not REQUEST_ID.match(request_id):
        result.errors["_form"] = REASONS["forged"]
    else:
        try:
            result.done = await run_in_threadpool(write, _services(request), visit, values, result)
        except DomainError as error:
            field, message = refusal(error)
            result.errors[field] = message
    if result.errors or result.done is None:
        return await _page(request, program_id, template, view, page, visit=visit,
                           extra=_forms(request, names, name, result), status_code=422)
    return RedirectResponse(f"{portal_path(program_id, page)}?done={result.done}", status_code=303)


def _key(visit: Visit, values: dict[str, str]) -> str:
    # Per member, so that one member's request id can never replay another's answer.
    return f"portal/{visit.member_id}/{values['request_id']}"


def _redeem(services: Services, visit: Visit, values: dict[str, str], result: FormResult) -> str | None:
    points = points_field(values, result.errors)
    if points is None:
        return None
    services.ledger.run(visit.program_id, cmd.Redeem(visit.member_id, points, reason="member portal"),
                        _key(visit, values))
    return "redeemed"


def _gift(services: Services, visit: Visit, values: dict[str, str], result: FormResult) -> str | None:
    points = points_field(values, result.errors)
    recipient = values.get("to_member", "").strip()
    if not MEMBER_ID.match(recipient) or recipient == visit.member_id:
        result.errors["to_member"] = N_("Enter the member number of the member you are gifting to.")
    if result.errors or points is None:
        return None
    services.ledger.run(visit.program_id, cmd.Transfer(visit.member_id, recipient, points, reason="gift"),
                        _key(visit, values))
    return "gifted"


def _leaderboard(services: Services, visit: Visit, values: dict[str, str], result: FormResult) -> str | None:
    join = values.get("join") == "yes"
    name = values.get("display_name", "").strip()
    if join and not name:
        result.errors["display_name"] = DISPLAY_NAME_REQUIRED
        return None
    try:
        if name:
            services.profiles.update(visit.program_id, visit.member_id, {"display_name": name})
    except InvalidRequest:
        result.errors["display_name"] = DISPLAY_NAME_REFUSED
        return None
    services.consents.change(visit.program_id, visit.member_id, {"leaderboard": join}, "portal",
                             idempotency_key=_key(visit, values))
    return "leaderboard"


@router.post("/redeem")
async def redeem(request: Request, program_id: str = ProgramId) -> Response:
    return await _act(request, program_id, "redeem", _redeem)


@router.post("/gift")
async def gift(request: Request, program_id: str = ProgramId) -> Response:
    return await _act(request, program_id, "gift", _gift)


@router.post("/leaderboard")
async def leaderboard(request: Request, program_id: str = ProgramId) -> Response:
    return await _act(request, program_id, "leaderboard", _leaderboard)


@router.get("/privacy", response_class=HTMLResponse)
async def privacy(request: Request, program_id: str = ProgramId) -> Response:
    return await _page(request, program_id, "portal/privacy.html", privacy_view, "privacy",
                       extra=_forms(request, PRIVACY_PAGE[3]))


@router.post("/privacy/consents")
async def consents(request: Request, program_id: str = ProgramId) -> Response:
    return await _act(request, program_id, "consents",
                      lambda services, visit, values, result: change_consents(services, visit, values, result,
                                                                             _key(visit, values)),
                      PRIVACY_PAGE)


@router.post("/privacy/export")
async def export(request: Request, program_id: str = ProgramId) -> Response:
    """The member's archive, as a download. A POST with the session's CSRF token: an export
    is written to the audit log, so another site's link or image cannot start one."""
    visit, _, refused = await _posted(request, program_id)
    if visit is None:
        return refused or to_sign_in(program_id, "session", end_session=True)
    try:
        archive = await run_in_threadpool(export_archive, _services(request), visit)
    except DomainError:
        return to_sign_in(program_id, "session", end_session=True)  # the member or program is gone
    return Response(archive, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{visit.member_id}.zip"', "Cache-Control": "no-store"})


@router.get("/messages", response_class=HTMLResponse)
async def messages(request: Request, program_id: str = ProgramId) -> Response:
    return await _page(request, program_id, "portal/messages.html", messages_view, "messages",
                       extra=_forms(request, MESSAGES_PAGE[3]))


@router.post("/messages")
async def save_messages(request: Request, program_id: str = ProgramId) -> Response:
    # A kind's channels are its checked boxes: one field per box, read from the form itself.
    form = await request.form()
    chosen = {name: [str(v) for v in form.getlist(name)] for name in set(form.keys())}
    return await _act(request, program_id, "messages",
                      lambda services, visit, values, result: save_preferences(services, visit, values, result,
                                                                              chosen),
                      MESSAGES_PAGE)


@router.get("/{anything:path}", response_class=HTMLResponse)
async def not_found(request: Request, anything: str, program_id: str = ProgramId) -> Response:
    """Any other portal address: a page saying so, in the member's language (never the API's
    problem document, which repeats the address)."""
    return _pages(request).render(request, "not_found.html", {"program_id": program_id}, status_code=404)
