"""Bodies of the notification endpoints: webhook subscriptions and deliveries, the program's
notification policy, e-mail templates, members' preferences, job runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, Strict

from .schemas import RequestModel

Language = Literal["ko", "en"]
ChannelName = Literal["email", "push", "sms", "messenger"]
MemberChannel = Literal["push", "sms", "messenger"]


class WebhookIn(RequestModel):
    url: str = Field(max_length=2000, description="https:// (plain http only to loopback, when the operator allows "
                                                  "it); a host that resolves to a private address is refused",
                     examples=["https://shop.example/hooks/dangol"])
    event_types: list[str] = Field(["*"], min_length=1, max_length=50,
                                   description="Event types (docs/notifications.md), or ['*'] for all")
    member_channel: MemberChannel | None = Field(None, description="Marks the subscription as a member channel: "
                                                                   "the brand's push, SMS or messenger sender")
    enabled: Annotated[bool, Strict()] = True


class WebhookChange(RequestModel):
    url: str | None = Field(None, max_length=2000)
    event_types: list[str] | None = Field(None, min_length=1, max_length=50)
    member_channel: MemberChannel | None = None
    enabled: Annotated[bool, Strict()] | None = None


class RotateSecretIn(RequestModel):
    overlap_seconds: int = Field(86_400, ge=0, le=30 * 86_400,
                                 description="How long the previous secret also signs deliveries")


class WebhookOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    member_channel: MemberChannel | None
    enabled: bool
    created_at: datetime
    previous_secret_until: datetime | None = Field(description="Until when the previous secret also signs")


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="whsec_…: verify signatures with it (Standard Webhooks)")


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: str = Field(description="msg_…, the `webhook-id` of every try")
    subscription_id: str | None
    channel: Literal["webhook", "email", "push", "sms", "messenger"]
    member_id: str | None
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None = Field(description="The receiver's HTTP status or SMTP reply code")
    last_error: str | None
    created_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class NotificationPolicyIn(RequestModel):
    transactional_email: Annotated[bool, Strict()] | None = Field(
        None, description="Whether transactional messages (expiry warnings, statements, tier changes) go by e-mail")
    expiry_warning_days: int | None = Field(None, ge=1, le=90, description="How far ahead expiry is announced")
    default_language: Language | None = Field(None, description="For members who chose none")


class NotificationPolicyOut(BaseModel):
    program_id: str
    transactional_email: bool
    expiry_warning_days: int
    default_language: Language
    updated_at: datetime | None


class EmailTemplateIn(RequestModel):
    subject: str = Field(max_length=500)
    text: str = Field(max_length=20_000)
    html: str = Field(max_length=50_000)


class EmailTemplateOut(BaseModel):
    kind: str
    language: Language
    built_in: bool
    subject: str
    text: str
    html: str


class PreferencesIn(RequestModel):
    language: Language | None = None
    channels: dict[str, list[ChannelName]] = Field(
        default_factory=dict, description="Kind of message -> channels ([] turns it off); kinds not sent keep theirs",
        examples=[{"points.expiring": ["email", "push"], "coupon.issued": []}])


class PreferencesOut(BaseModel):
    member_id: str
    language: Language | None
    channels: dict[str, list[ChannelName]]


class UnsubscribedOut(BaseModel):
    unsubscribed: bool
    kind: str
    channels: list[ChannelName]


class JobRunOut(BaseModel):
    id: int
    job: str
    program_id: str
    status: Literal["running", "succeeded", "failed"]
    holder: str
    started_at: datetime
    finished_at: datetime | None
    summary: dict[str, Any] | None


class JobRunPage(BaseModel):
    items: list[JobRunOut]
    next_cursor: str | None
