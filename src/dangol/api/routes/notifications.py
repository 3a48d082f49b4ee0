"""Notifications: webhook subscriptions and their delivery logs, redelivery, the program's
notification policy and e-mail templates, members' channels, one-click unsubscribe, and the
runs of scheduled jobs (docs/notifications.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from ..auth import AuthenticatedRoute, ReadKey, WriteKey
from ..deps import MemberIdPath, ProgramIdPath, ServicesDep
from ..idempotency import IdempotencyKey
from ..lanes import WriteLaneDep
from ..notification_schemas import (
    DeliveryOut, DeliveryPage, EmailTemplateIn, EmailTemplateOut, JobRunPage, NotificationPolicyIn,
    NotificationPolicyOut, PreferencesIn, PreferencesOut, RotateSecretIn, UnsubscribedOut, WebhookChange, WebhookIn,
    WebhookList, WebhookOut, WebhookWithSecret,
)
from ..problems import problem_responses

router = APIRouter(prefix="/v1/programs/{program_id}", tags=["notifications"], route_class=AuthenticatedRoute)
public = APIRouter(prefix="/v1", tags=["notifications"])
READ_PROBLEMS = problem_responses(401, 403, 404, 422)
WRITE_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422)
PUT_PROBLEMS = problem_responses(401, 403, 404, 413, 422)
Cursor = Annotated[str | None, Query(max_length=40, description="next_cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=200, description="1 to 200")]
SubscriptionId = Annotated[str, Path(pattern=r"^whs_[0-9a-f]{20}$", description="Webhook subscription id")]
DeliveryId = Annotated[str, Path(pattern=r"^msg_[0-9a-f]{24}$", description="Delivery id (the webhook-id)")]
Kind = Annotated[str, Path(pattern=r"^[a-z]+\.[a-z_]+$", description="Kind of message, e.g. points.expiring")]
LanguagePath = Annotated[Literal["ko", "en"], Path(description="ko or en")]
Status = Literal["pending", "delivered", "dead"]
WEBHOOKS = "/webhooks"
ONE = WEBHOOKS + "/{subscription_id}"


# ---------------------------------------------------------------- webhook subscriptions

@router.post(WEBHOOKS, status_code=201, response_model=WebhookWithSecret, summary="Subscribe a webhook endpoint",
             description="Deliveries are signed per Standard Webhooks with the `secret` answered here. "
                         "`member_channel` marks the brand's own push, SMS or messenger sender: it gets the message "
                         "rendered in the member's language.", responses=WRITE_PROBLEMS)
async def create_webhook(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                         body: WebhookIn, idempotency_key: IdempotencyKey) -> JSONResponse:
    created = await lane.run(services.webhooks.create, program_id, body.model_dump(mode="json"), idempotency_key)
    return JSONResponse(created, status_code=201, headers={"Location": f"/v1/programs/{program_id}/webhooks/"
                                                                       f"{created['id']}"})


@router.get(WEBHOOKS, response_model=WebhookList, summary="The program's webhook subscriptions",
            responses=READ_PROBLEMS)
def list_webhooks(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath) -> JSONResponse:
    return JSONResponse({"items": services.webhooks.list(program_id)})


@router.get(ONE, response_model=WebhookOut, summary="A webhook subscription", responses=READ_PROBLEMS)
def get_webhook(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
                subscription_id: SubscriptionId) -> JSONResponse:
    return JSONResponse(services.webhooks.get(program_id, subscription_id))


@router.patch(ONE, response_model=WebhookOut, summary="Change a webhook subscription",
              description="Only the fields sent change; the same change again changes nothing, so it needs no "
                          "Idempotency-Key.", responses=PUT_PROBLEMS)
async def change_webhook(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                         subscription_id: SubscriptionId, body: WebhookChange) -> JSONResponse:
    changes = body.model_dump(mode="json", exclude_unset=True)
    return JSONResponse(await lane.run(services.webhooks.update, program_id, subscription_id, changes))


@router.delete(ONE, response_model=WebhookOut, summary="Remove a webhook subscription",
               description="Answers the subscription removed. Its pending deliveries die at their next try. "
                           "Removing it again is a 404.", responses=problem_responses(401, 403, 404, 422))
async def delete_webhook(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                         subscription_id: SubscriptionId) -> JSONResponse:
    return JSONResponse(await lane.run(services.webhooks.delete, program_id, subscription_id))


@router.post(ONE + "/rotate-secret", response_model=WebhookWithSecret, summary="Rotate a subscription's secret",
             description="A new secret signs every delivery from now; the previous one also signs (a second "
                         "signature in `webhook-signature`) until `overlap_seconds` have passed.",
             responses=WRITE_PROBLEMS)
async def rotate_secret(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                        subscription_id: SubscriptionId, body: RotateSecretIn,
                        idempotency_key: IdempotencyKey) -> JSONResponse:
    return JSONResponse(await lane.run(services.webhooks.rotate_secret, program_id, subscription_id,
                                       timedelta(seconds=body.overlap_seconds), idempotency_key))


@router.get(ONE + "/deliveries", response_model=DeliveryPage, summary="A subscription's delivery log, oldest first",
            responses=READ_PROBLEMS)
def subscription_deliveries(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
                            subscription_id: SubscriptionId, status: Status | None = None, cursor: Cursor = None,
                            limit: Limit = 50) -> JSONResponse:
    page = services.webhooks.deliveries(program_id, subscription_id, status, cursor, limit)
    return JSONResponse({"items": page.items, "next_cursor": page.next_cursor})


@router.get("/deliveries", response_model=DeliveryPage, summary="Every delivery of the program, oldest first",
            description="`status=dead` lists the dead letters (redeliver them with the next endpoint).",
            responses=READ_PROBLEMS)
def deliveries(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath, status: Status | None = None,
               cursor: Cursor = None, limit: Limit = 50) -> JSONResponse:
    page = services.webhooks.deliveries(program_id, None, status, cursor, limit)
    return JSONResponse({"items": page.items, "next_cursor": page.next_cursor})


@router.post("/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut, summary="Send a delivery again",
             description="At the next dispatch, from its first try, with the same delivery id (receivers "
                         "deduplicate on it): a dead letter, a delivery a receiver lost, or one waiting for its next "
                         "try.", responses=WRITE_PROBLEMS)
async def redeliver(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                    delivery_id: DeliveryId, idempotency_key: IdempotencyKey) -> JSONResponse:
    return JSONResponse(await lane.run(services.webhooks.redeliver, program_id, delivery_id, idempotency_key))


# ---------------------------------------------------------------- policy, templates, members' choices

@router.get("/notification-policy", response_model=NotificationPolicyOut, summary="The program's notification policy",
            responses=READ_PROBLEMS)
def get_policy(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath) -> JSONResponse:
    return JSONResponse(services.notification_preferences.policy(program_id))


@router.put("/notification-policy", response_model=NotificationPolicyOut, summary="Set the notification policy",
            description="Only the settings sent change; the same settings again change nothing.",
            responses=PUT_PROBLEMS)
async def set_policy(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                     body: NotificationPolicyIn) -> JSONResponse:
    changes = body.model_dump(mode="json", exclude_unset=True)
    return JSONResponse(await lane.run(services.notification_preferences.set_policy, program_id, changes))


@router.get("/email-templates/{kind}/{language}", response_model=EmailTemplateOut,
            summary="The e-mail template of a kind of message in a language", responses=READ_PROBLEMS)
def get_template(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath, kind: Kind,
                 language: LanguagePath) -> JSONResponse:
    return JSONResponse(services.notification_preferences.template(program_id, kind, language))


@router.put("/email-templates/{kind}/{language}", response_model=EmailTemplateOut,
            summary="Replace an e-mail template",
            description="Jinja2 (sandboxed). A part that does not compile is refused here, a 422 whose `field` "
                        "names the part and `line` its line, never at send time.", responses=PUT_PROBLEMS)
async def set_template(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                       kind: Kind, language: LanguagePath, body: EmailTemplateIn) -> JSONResponse:
    return JSONResponse(await lane.run(services.notification_preferences.save_template, program_id, kind, language,
                                       body.model_dump()))


@router.get("/members/{member_id}/notification-preferences", response_model=PreferencesOut,
            summary="A member's language and channels per kind of message", responses=READ_PROBLEMS)
def get_preferences(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
                    member_id: MemberIdPath) -> JSONResponse:
    return JSONResponse(services.notification_preferences.member(program_id, member_id))


@router.put("/members/{member_id}/notification-preferences", response_model=PreferencesOut,
            summary="Set a member's language and channels",
            description="The kinds sent take the channels sent; the others keep theirs. The same body again "
                        "changes nothing.", responses=PUT_PROBLEMS)
async def set_preferences(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                          member_id: MemberIdPath, body: PreferencesIn) -> JSONResponse:
    return JSONResponse(await lane.run(services.notification_preferences.set_member, program_id, member_id,
                                       body.model_dump(mode="json", exclude_unset=True)))


# ---------------------------------------------------------------- scheduled jobs

@router.get("/job-runs", response_model=JobRunPage, summary="Runs of the program's scheduled jobs, newest first",
            responses=READ_PROBLEMS)
def job_runs(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
             job: Annotated[str | None, Query(max_length=40)] = None, cursor: Cursor = None,
             limit: Limit = 50) -> JSONResponse:
    page = services.jobs.runs(program_id, job, cursor, limit)
    return JSONResponse({"items": page.items, "next_cursor": page.next_cursor})


# ---------------------------------------------------------------- one-click unsubscribe (public)

@public.post("/unsubscribe/{token}", response_model=UnsubscribedOut, summary="One-click unsubscribe (RFC 8058)",
             description="The link of a message's `List-Unsubscribe` header, posted by the mail client with "
                         "`List-Unsubscribe=One-Click`: that kind of message stops coming by e-mail. Needs no key "
                         "(the link is authenticated) and no Idempotency-Key (again changes nothing).",
             responses=problem_responses(413, 422))
async def unsubscribe(services: ServicesDep, lane: WriteLaneDep,
                      token: Annotated[str, Path(max_length=300, pattern=r"^[A-Za-z0-9_.-]+$")]) -> JSONResponse:
    return JSONResponse(await lane.run(services.notification_preferences.unsubscribe, token))
