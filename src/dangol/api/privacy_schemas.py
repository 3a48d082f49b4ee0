"""Bodies of the members' own data endpoints: personal data, consents, the privacy policy,
exports, erasures and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel, Strict, StringConstraints

from ..privacy.consent import ConsentSource, Purpose
from ..privacy.fields import FieldKind
from .schemas import Instant, RequestModel

FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
# Checked by kind in the service (privacy/fields.py), which names the field it refuses.
FieldValue = Annotated[str, StringConstraints(max_length=1000)]
Days = Annotated[int, Strict(), Field(ge=0, le=36_500)]


class PersonalDataIn(RootModel[dict[FieldName, FieldValue | None]]):
    """The fields to set (a string each) or clear (null); the others stay. Which fields
    there are is the program's privacy policy (by default name, email, phone, birthday
    YYYY-MM-DD, address)."""

    root: Annotated[dict[FieldName, FieldValue | None], Field(
        min_length=1, max_length=20, examples=[{"name": "김민지", "email": "minji@example.com"}])]


class ConsentsIn(RequestModel):
    purposes: Annotated[dict[Purpose, Annotated[bool, Strict()]], Field(
        min_length=1, description="Purpose -> true to grant, false to withdraw",
        examples=[{"marketing": True, "partner_sharing": False}])]
    source: ConsentSource = Field(ConsentSource.API, description="Where the member gave it")
    notice_version: Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,64}$")] | None = Field(
        None, description="The version of the privacy notice the member saw")
    occurred_at: Instant | None = Field(None, description="When the member gave it (not in the future); now when absent")


class PrivacyPolicyIn(RequestModel):
    """Only the settings sent change; null turns a retention off."""

    fields: Annotated[dict[FieldName, FieldKind], Field(min_length=1, max_length=20)] | None = None
    erase_after_closed_days: Days | None = None
    audit_log_days: Days | None = None


# ---------------------------------------------------------------- responses


class PersonalDataOut(BaseModel):
    member_id: str
    fields: dict[str, str]
    updated_at: datetime | None
    erased: bool


class PersonalDataReceipt(BaseModel):
    """Names, never values: nothing personal is kept with the request's idempotency key."""

    member_id: str
    fields: list[str] = Field(description="The fields the member now has")
    updated_at: datetime | None


class ConsentRecordOut(BaseModel):
    purpose: Purpose
    granted: bool
    source: ConsentSource
    notice_version: str | None
    occurred_at: datetime
    recorded_at: datetime | None = None


class PurposeStateOut(BaseModel):
    granted: bool
    record: ConsentRecordOut | None = Field(description="The answer in force; null if the member was never asked")


class ConsentStateOut(BaseModel):
    member_id: str
    purposes: dict[Purpose, PurposeStateOut]
    history: list[ConsentRecordOut] | None = None


class ConsentingMember(BaseModel):
    member_id: str


class ConsentingPage(BaseModel):
    items: list[ConsentingMember]
    next_cursor: str | None


class PrivacyPolicyOut(BaseModel):
    program_id: str
    fields: dict[str, FieldKind]
    erase_after_closed_days: int | None
    audit_log_days: int | None
    updated_at: datetime | None


class ForfeitureOut(BaseModel):
    points: int
    transactions: list[int]
    log: list[dict[str, Any]]


class ErasureReceipt(BaseModel):
    member_id: str
    program_id: str
    erased_at: datetime
    requested_by: str
    forfeiture: ForfeitureOut
    destroyed: dict[str, Any]
    rewritten: dict[str, Any]


class ErasureItem(ErasureReceipt):
    cursor: str


class ErasureList(BaseModel):
    items: list[ErasureItem]
    next_cursor: str | None


class AuditEntryOut(BaseModel):
    id: int
    member_id: str | None
    action: str
    actor: str
    at: datetime
    detail: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


class MemberExportOut(BaseModel):
    """See docs/privacy.md for every part."""

    format: Literal["dangol-member-export/v1"]
    exported_at: datetime
    program: dict[str, Any]
    member: dict[str, Any]
    personal_data: dict[str, str]
    consents: dict[str, Any]
    balance: dict[str, int]
    transactions: list[dict[str, Any]]
    lots: list[dict[str, Any]]
    events: list[dict[str, Any]]
    log: dict[str, Any]
    access_log: list[dict[str, Any]]


class RetentionRunOut(BaseModel):
    at: datetime
    programs: int
    members_erased: int
    erased: list[str]
    audit_entries_removed: int
