"""Request and response bodies. Requests are bounded in every dimension so that nothing a
client sends can reach the database as a value it would refuse (too long, NUL bytes, …);
responses describe, for the OpenAPI document, the JSON built by `service.receipts`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, Strict, StringConstraints

from ..domain import ProgramPolicy, Rounding
from ..domain.member_ledger import MAX_POINTS
from ..domain.program import PROGRAM_ID
from ..service.ledger import MEMBER_ID

MAX_MONEY = 10**15
_POLICY = ProgramPolicy()
# No C0/C1 control characters (PostgreSQL refuses NUL in text); pydantic already refuses
# lone surrogates, which no database could store either.
NO_CONTROLS = r"^[^\x00-\x1f\x7f-\x9f]*$"
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(3000, 1, 1, tzinfo=timezone.utc)


def _within_range(moment: datetime) -> datetime:
    try:
        utc = moment.astimezone(timezone.utc)
    except OverflowError as error:
        raise ValueError("datetime out of range") from error
    if not EARLIEST <= utc < LATEST:
        raise ValueError("datetime must be between 1970-01-01 and 2999-12-31 UTC")
    return utc


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(min_length=1, max_length=max_length, pattern=NO_CONTROLS)


Points = Annotated[int, Strict(), Field(ge=1, le=MAX_POINTS, description="Whole points")]
SignedPoints = Annotated[int, Strict(), Field(ge=-MAX_POINTS, le=MAX_POINTS,
                                              description="Whole points, negative to take points away")]
MinorUnits = Annotated[int, Strict(), Field(ge=0, le=MAX_MONEY, description="Amount in the currency's minor unit")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["KRW"])]
Instant = Annotated[AwareDatetime, AfterValidator(_within_range),
                    Field(description="RFC 3339 date-time with a timezone, 1970 to 2999")]
Reference = Annotated[str, _text(200)]
Reason = Annotated[str, _text(500)]
Name = Annotated[str, _text(200)]
MemberId = Annotated[str, Field(pattern=MEMBER_ID.pattern)]
ProgramId = Annotated[str, Field(pattern=PROGRAM_ID.pattern)]


class RequestModel(BaseModel):
    """Request bodies refuse fields they do not know."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- requests


class MoneyIn(RequestModel):
    amount: MinorUnits
    currency: Currency


class EarnRateIn(RequestModel):
    points: Annotated[int, Strict(), Field(ge=0, le=MAX_POINTS)] = _POLICY.earn_rate.points
    per_minor_units: Annotated[int, Strict(), Field(ge=1, le=MAX_MONEY)] = _POLICY.earn_rate.per_minor_units


class PolicyIn(RequestModel):
    lot_validity_days: Annotated[int, Strict(), Field(ge=1, le=36_500)] = _POLICY.lot_validity_days
    min_redemption: Points = _POLICY.min_redemption
    allow_negative_balance: Annotated[bool, Strict()] = _POLICY.allow_negative_balance
    allow_transfers: Annotated[bool, Strict()] = _POLICY.allow_transfers
    hold_timeout_seconds: Annotated[int, Strict(), Field(ge=1, le=30 * 86_400)] = _POLICY.hold_timeout_seconds
    earn_rate: EarnRateIn = Field(default_factory=EarnRateIn)
    rounding: Rounding = _POLICY.rounding


class ProgramIn(RequestModel):
    id: ProgramId
    name: Name
    currency: Currency
    policy: PolicyIn = Field(default_factory=PolicyIn)
    mode: Literal["live", "test"] = Field("live", description=(
        "`test`: the program runs by its own test clock, which starts now and only moves when advanced "
        "(`POST /v1/programs/{id}/test-clock/advance`). A test program is never switched to live: make a "
        "new live program instead."))


class ApiKeyIn(RequestModel):
    name: Name
    scopes: Annotated[list[Literal["read", "write", "personal"]], Field(
        min_length=1, max_length=3, description="read, write (includes read) and personal (members' personal "
                                                "data, export and erasure; implied by neither)")]


class EnrollIn(RequestModel):
    external_ref: Annotated[Reference, Field(description="The brand's own customer reference (a pseudonym)")]


class StatusChangeIn(RequestModel):
    reason: Reason | None = None


class EarnIn(RequestModel):
    points: Points | None = None
    amount: MoneyIn | None = Field(None, description="Order amount; points follow from the program's earn rate")
    order_ref: Reference | None = None
    available_at: Instant | None = Field(None, description="Pending until then (e.g. after a return window)")
    expires_at: Instant | None = None
    reason: Reason | None = None


class RedeemIn(RequestModel):
    points: Points
    order_ref: Reference | None = None
    reason: Reason | None = None


class ReversalIn(RequestModel):
    order_ref: Reference
    refund: MoneyIn | None = Field(None, description="Refunded amount; the whole order when absent")
    reason: Reason | None = None


class AdjustmentIn(RequestModel):
    points: SignedPoints
    reason: Reason
    expires_at: Instant | None = None


class TransferIn(RequestModel):
    to_member_id: MemberId
    points: Points
    reason: Reason | None = None


class HoldIn(RequestModel):
    points: Points
    timeout_seconds: Annotated[int, Strict(), Field(ge=1, le=30 * 86_400)] | None = None
    order_ref: Reference | None = None


class CaptureIn(RequestModel):
    points: Points | None = Field(None, description="Points to capture; the whole hold when absent")


class ExpiryRunIn(RequestModel):
    as_of: Instant | None = Field(None, description="Expire as of this time (not in the future); now when absent")


# ---------------------------------------------------------------- responses (shapes of service.receipts)


class MoneyOut(BaseModel):
    amount: int
    currency: str


class EarnRateOut(BaseModel):
    points: int
    per_minor_units: int


class PolicyOut(BaseModel):
    lot_validity_days: int
    min_redemption: int
    allow_negative_balance: bool
    allow_transfers: bool
    hold_timeout_seconds: int
    earn_rate: EarnRateOut
    rounding: Rounding


class ProgramOut(BaseModel):
    id: str
    name: str
    currency: str
    created_at: datetime | None
    livemode: bool = Field(description="false for a program in test mode (it runs by its test clock)")
    policy: PolicyOut


class TestClockOut(BaseModel):
    program_id: str
    livemode: Literal[False]
    now: datetime = Field(description="the program's simulated now")


class TestClockAdvanceIn(RequestModel):
    to: datetime | None = Field(None, description="the time to move the clock to (with a time zone); "
                                                  "not before its current time")
    by: timedelta | None = Field(None, description="how far to move it: ISO 8601 (`P30D`) or seconds")


class TestClockAdvanceOut(TestClockOut):
    from_: datetime = Field(alias="from", description="where the clock was")
    job_runs: int = Field(description="the job runs made as the time passed")


class ProgramList(BaseModel):
    items: list[ProgramOut]


class ApiKeyOut(BaseModel):
    id: str
    program_id: str
    scopes: list[str]
    name: str
    token: str = Field(description="The secret, shown only in this response")


class IssuedKeyOut(BaseModel):
    """A key as it is on record: never its secret."""

    id: str
    program_id: str | None = Field(description="null for an admin key")
    scopes: list[str]
    name: str
    created_at: datetime
    revoked_at: datetime | None = Field(description="When it was revoked; null while it works")


class IssuedKeyList(BaseModel):
    items: list[IssuedKeyOut]


class MemberOut(BaseModel):
    id: str
    program_id: str
    external_ref: str
    status: Literal["active", "suspended", "closed"]
    enrolled_at: datetime


class ProfileOut(BaseModel):
    """What rules read of a member besides the ledger (PATCH changes it)."""

    time_zone: str | None = Field(description="IANA name; null for the program's default")
    birthday_month: int | None
    birthday_day: int | None
    tags: list[str]
    display_name: str | None = Field(description="The name shown on leaderboards")
    leaderboard_opt_in: bool


class MemberWithProfile(MemberOut):
    profile: ProfileOut


class MemberList(BaseModel):
    items: list[MemberWithProfile]


class ProfileUpdated(BaseModel):
    profile: ProfileOut


class LogReceiptOut(BaseModel):
    """Where a transaction is in the transparency log: its entry's sequence number (which
    finds its leaf index once the tree is extended, see GET /v1/log/proof/inclusion) and
    its leaf hash, standard base64."""

    sequence: int
    leaf_hash: str


LOG_RECEIPTS: list[LogReceiptOut] = Field(default_factory=list, description="One log receipt per transaction this write recorded")


class Enrolled(BaseModel):
    member: MemberOut
    log: list[LogReceiptOut] = LOG_RECEIPTS


class PostingOut(BaseModel):
    account: str
    member_id: str | None
    amount: int
    rule_id: str | None = Field(None, description="The earning rule these points came from, if a rule made them")


class TransactionOut(BaseModel):
    id: int
    kind: str
    member_id: str
    points: int
    occurred_at: datetime
    order_ref: str | None
    money: MoneyOut | None
    reason: str | None
    hold_id: int | None
    counterparty_id: str | None
    rule_id: str | None = Field(None, description="The earning rule that produced this earn, if any")
    ruleset_hash: str | None = Field(None, description="Content hash of the published ruleset of that rule")
    postings: list[PostingOut]


class LotOut(BaseModel):
    id: int
    source: str
    amount: int
    remaining: int
    state: Literal["pending", "available"]
    earned_at: datetime
    available_at: datetime
    expires_at: datetime
    order_ref: str | None
    transaction_id: int


class HoldOut(BaseModel):
    id: int
    member_id: str
    points: int
    status: Literal["active", "captured", "voided", "expired"]
    captured: int
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    order_ref: str | None


class BalancesOut(BaseModel):
    available: int
    pending: int
    held: int
    debt: int


class RefundOut(BaseModel):
    order_ref: str
    money: MoneyOut | None
    clawed_back: int
    uncollected: int
    transaction_id: int | None
    recorded_at: datetime


class EarnReceipt(BaseModel):
    points: int
    transaction: TransactionOut | None = Field(description="None when the order earned no points")
    lot: LotOut | None
    balance: BalancesOut
    log: list[LogReceiptOut] = LOG_RECEIPTS


class TransactionReceipt(BaseModel):
    transaction: TransactionOut
    balance: BalancesOut
    log: list[LogReceiptOut] = LOG_RECEIPTS


class ReversalReceipt(BaseModel):
    refund: RefundOut
    transaction: TransactionOut | None
    balance: BalancesOut
    log: list[LogReceiptOut] = LOG_RECEIPTS


class StatusReceipt(BaseModel):
    member: MemberOut
    transactions: list[TransactionOut] = Field(description="Points forfeited on closing")
    balance: BalancesOut
    log: list[LogReceiptOut] = LOG_RECEIPTS


class HoldPlaced(BaseModel):
    hold: HoldOut
    balance: BalancesOut
    log: list[LogReceiptOut] = LOG_RECEIPTS


class HoldSettled(BaseModel):
    hold: HoldOut
    transaction: TransactionOut
    balance: BalancesOut
    log: list[LogReceiptOut] = LOG_RECEIPTS


class MetricOut(BaseModel):
    name: str = Field(description="spend (minor units), points or purchases")
    value: int


class WindowOut(BaseModel):
    kind: str | None = None
    start: datetime
    end: datetime


class ExpiringSoon(BaseModel):
    within_days: int
    points: int
    next_expiry: datetime | None


class BalanceOut(BaseModel):
    member_id: str
    as_of: datetime
    available: int
    pending: int
    held: int
    debt: int
    expiring_soon: ExpiringSoon


class LotPage(BaseModel):
    items: list[LotOut]
    next_cursor: str | None


class HistoryEntry(BaseModel):
    id: int
    kind: str
    points: int
    change: int = Field(description="Change of the member's available balance")
    occurred_at: datetime
    recorded_at: datetime
    order_ref: str | None
    money: MoneyOut | None
    reason: str | None
    hold_id: int | None
    counterparty_id: str | None
    rule_id: str | None = Field(None, description="The earning rule that produced this earn, if any")
    ruleset_hash: str | None = Field(None, description="Content hash of the published ruleset of that rule")
    postings: list[PostingOut]


class HistoryPage(BaseModel):
    items: list[HistoryEntry]
    next_cursor: str | None


class ExpiryReportOut(BaseModel):
    as_of: datetime
    members: int
    expired_points: int
    released_points: int
    holds_released: int
    transactions: int
    programs: list[str]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    database: str
    revision: str | None


# ---------------------------------------------------------------- transparency log


class InclusionProofOut(BaseModel):
    index: int
    sequence: int | None
    size: int
    leaf_hash: str = Field(description="Standard base64")
    hashes: list[str] = Field(description="RFC 9162 inclusion path, leaf side first, standard base64")


class ConsistencyProofOut(BaseModel):
    from_: int = Field(alias="from")
    to: int
    hashes: list[str] = Field(description="RFC 9162 consistency proof, standard base64")


class LogEntryOut(BaseModel):
    index: int
    sequence: int
    leaf_hash: str = Field(description="Standard base64 of SHA-256(0x00 || entry)")
    entry: str = Field(description="Standard base64 of the entry's canonical JSON bytes")


class LogEntryPage(BaseModel):
    entries: list[LogEntryOut]


class WitnessesOut(BaseModel):
    quorum: int
    witnesses: list[str] = Field(description="Verifier keys of the registered witnesses")


class CosignaturesAccepted(BaseModel):
    size: int
    accepted: list[str] = Field(description="Verifier keys whose cosignatures were accepted")


class MemberLogKeyOut(BaseModel):
    member_id: str
    program_id: str
    key: str = Field(description="The member's 32-byte commitment key, standard base64")
    commitment: str = Field(description="The member's pseudonym in log entries, lowercase hex")
    scheme: str


class CheckpointSigned(BaseModel):
    size: int
    root_hash: str
    checkpoint: str = Field(description="The signed note")
