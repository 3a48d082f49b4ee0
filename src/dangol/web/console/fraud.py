"""The console's fraud review queue: the open reviews of every program (`read_fraud_reviews`),
each released or reversed (`settle_fraud_reviews`) through the same FraudReviews as the API:
the settlement, its ledger transactions and its audit-log entry in one transaction, and the
form's key stored with it, so a form sent twice settles once."""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...domain.errors import DomainError
from ...service.container import Services
from ...service.fraud.reviews import MAX_PAGE, RELEASED, REVERSED
from ...service.staff.audit import Actor
from ...staff.roles import Permission
from ..csrf import FIELD
from .common import MAX_FIELD, N_, as_staff, render, services_of, translate
from .session import PATH, StaffVisit, address_of

router = APIRouter(prefix=PATH, include_in_schema=False)
QUEUE = f"{PATH}/fraud-reviews"
FORM_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
DONE = {RELEASED: N_("Review %(id)s released: its points are available."),
        REVERSED: N_("Review %(id)s reversed: its points were taken back.")}


def open_reviews(services: Services) -> list[dict[str, Any]]:
    """The open reviews of every program, oldest first within a program (the first page
    of each: a program with more settles those first)."""
    found: list[dict[str, Any]] = []
    for program in services.programs.list_programs():
        page = services.fraud_reviews.list(program.id, "open", limit=MAX_PAGE)
        found += [{**review, "program_id": program.id, "program_name": program.name,
                   "reason": "; ".join(f"{f.get('rule_id')}: {f.get('reason')}" for f in review["findings"])}
                  for review in page.items]
    return found


async def _queue(request: Request, visit: StaffVisit, *, notice: str | None = None, error: str | None = None,
                 status_code: int = 200) -> Response:
    reviews = await run_in_threadpool(open_reviews, services_of(request))
    return render(request, visit, "console/fraud_reviews.html", {
        "reviews": reviews, "notice": notice, "error": error,
        "keys": {(r["program_id"], r["id"]): secrets.token_urlsafe(16) for r in reviews}}, status_code=status_code)


@router.get("/fraud-reviews", response_class=HTMLResponse)
async def review_queue(request: Request, done: str = "", review: str = "") -> Response:
    async def show(request: Request, visit: StaffVisit) -> Response:
        message = DONE.get(done)
        notice = translate(request, message) % {"id": review[:20]} if message and review.isdigit() else None
        return await _queue(request, visit, notice=notice)
    return await as_staff(request, Permission.READ_FRAUD_REVIEWS, show)


@router.post("/programs/{program_id}/fraud-reviews/{review_id}/{decision}")
async def settle(request: Request, program_id: str, review_id: str, decision: str) -> Response:
    """Release or reverse, as the API's `:release` and `:reverse`: the same decision again
    answers as the first did, the other one is refused (shown on the queue, nothing changed)."""
    if decision not in (RELEASED[:-1], REVERSED[:-1]) or not review_id.isdigit() or len(review_id) > 18:
        return await as_staff(request, Permission.READ_FRAUD_REVIEWS, _not_found)

    async def act(request: Request, visit: StaffVisit) -> Response:
        form = {k: str(v)[:MAX_FIELD] for k, v in (await request.form()).items() if k != FIELD}
        services = services_of(request)
        settle_review = services.fraud_reviews.release if decision == "release" else services.fraud_reviews.reverse
        key = form.get("key", "")
        actor = Actor(visit.account.actor, address_of(request))
        try:
            settled = await run_in_threadpool(settle_review, program_id, int(review_id), actor,
                                              # Per account: one staff member's key never replays another's.
                                              f"console/{visit.account.username}/{key}" if FORM_KEY.match(key)
                                              else None)
        except DomainError as refused:
            return await _queue(request, visit, error=refused.detail, status_code=409 if refused.code in (
                "review-settled", "idempotency-conflict") else 404)
        return RedirectResponse(f"{QUEUE}?done={settled['status']}&review={settled['id']}", status_code=303)
    return await as_staff(request, Permission.SETTLE_FRAUD_REVIEWS, act, form=True)


async def _not_found(request: Request, visit: StaffVisit) -> Response:
    return render(request, visit, "console/forbidden.html", {"not_found": True}, status_code=404)
