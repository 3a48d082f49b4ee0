"""Members own their data: personal data, consents, export, erasure, the privacy policy,
retention runs and the audit log. Personal data, exports, erasure and the audit log need
the `personal` scope; each of those calls is in the audit log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from ...privacy.consent import Purpose
from ...service.container import Services
from ...service.privacy.audit import api_actor
from ..auth import AuthenticatedRoute, PersonalKey, PersonalWriteKey, ReadKey, WriteKey
from ..deps import MemberIdPath, ProgramIdPath, ServicesDep
from ..idempotency import IdempotencyKey, StoredResponses
from ..lanes import WriteLaneDep
from ..privacy_schemas import (
    AuditPage, ConsentingPage, ConsentsIn, ConsentStateOut, ErasureList, ErasureReceipt, MemberExportOut,
    PersonalDataIn, PersonalDataOut, PersonalDataReceipt, PrivacyPolicyIn, PrivacyPolicyOut, RetentionRunOut,
)
from ..problems import problem_responses
from ..schemas import MemberId

router = APIRouter(prefix="/v1/programs/{program_id}", tags=["members' data"], route_class=AuthenticatedRoute)
MEMBER = "/members/{member_id}"
READ_PROBLEMS = problem_responses(401, 403, 404, 422)
WRITE_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422)
Cursor = Annotated[str | None, Query(max_length=40, description="next_cursor of the previous page")]


# ---------------------------------------------------------------- personal data

@router.get(MEMBER + "/personal-data", response_model=PersonalDataOut, summary="Read a member's personal data",
            description="Needs the `personal` scope. The read is written to the audit log before the data is "
                        "returned.", responses=READ_PROBLEMS)
async def read_personal_data(key: PersonalKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                             member_id: MemberIdPath) -> JSONResponse:
    return JSONResponse(await lane.run(services.personal_data.read, program_id, member_id, api_actor(key.id)))


@router.patch(MEMBER + "/personal-data", response_model=PersonalDataReceipt,
              summary="Set or clear a member's personal fields",
              description="Needs the `personal` scope and an Idempotency-Key. Only the fields sent change; null "
                          "clears one. A value the field's kind refuses (an invalid e-mail, a birthday in the "
                          "future) is a 422 whose `field` names it. The answer names the fields, never their values.",
              responses=WRITE_PROBLEMS)
async def update_personal_data(key: PersonalKey, services: ServicesDep, lane: WriteLaneDep,
                               program_id: ProgramIdPath, member_id: MemberIdPath, body: PersonalDataIn,
                               idempotency_key: IdempotencyKey) -> JSONResponse:
    return JSONResponse(await lane.run(services.personal_data.update, program_id, member_id, body.root,
                                       api_actor(key.id), idempotency_key))


# ---------------------------------------------------------------- consents

@router.get(MEMBER + "/consents", response_model=ConsentStateOut, summary="A member's consents and their history",
            responses=READ_PROBLEMS)
def read_consents(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
                  member_id: MemberIdPath) -> JSONResponse:
    return JSONResponse(services.consents.state(program_id, member_id))


@router.post(MEMBER + "/consents", response_model=ConsentStateOut, summary="Record a member's consent answers",
             description="Grants (true) or withdraws (false) purposes, as the member answered through `source` "
                         "under privacy notice `notice_version`. An answer that changes nothing is not recorded "
                         "again. Answers the consents in force.", responses=WRITE_PROBLEMS)
async def change_consents(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                          member_id: MemberIdPath, body: ConsentsIn, idempotency_key: IdempotencyKey) -> JSONResponse:
    answers = {purpose.value: granted for purpose, granted in body.purposes.items()}
    return JSONResponse(await lane.run(services.consents.change, program_id, member_id, answers, body.source.value,
                                       body.notice_version, body.occurred_at, idempotency_key))


@router.get("/consents/{purpose}/members", response_model=ConsentingPage,
            summary="The members who allow a purpose",
            description="What a sender of marketing messages, an analytics job or a partner feed goes through: "
                        "only members whose answer grants the purpose, by member id.", responses=READ_PROBLEMS)
def consenting_members(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
                       purpose: Purpose, cursor: Cursor = None,
                       limit: Annotated[int, Query(ge=1, le=1000, description="1 to 1000")] = 100) -> JSONResponse:
    page = services.consents.consenting(program_id, purpose.value, cursor=cursor, limit=limit)
    return JSONResponse({"items": page.items, "next_cursor": page.next_cursor})


# ---------------------------------------------------------------- export and erasure

@router.get(MEMBER + "/export", response_model=MemberExportOut, summary="Export everything dangol holds of a member",
            description="Needs the `personal` scope; written to the audit log. `format=zip` answers one archive "
                        "(application/zip): export.json and a CSV file per list.",
            responses={**READ_PROBLEMS, 200: {"content": {"application/zip": {
                "schema": {"type": "string", "format": "binary"}}}}})
def export_member(key: PersonalKey, services: ServicesDep, program_id: ProgramIdPath, member_id: MemberIdPath,
                  format: Literal["json", "zip"] = "json") -> Response:
    actor = api_actor(key.id)
    if format == "zip":
        return Response(services.exports.archive(program_id, member_id, actor), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{member_id}.zip"'})
    return JSONResponse(services.exports.document(program_id, member_id, actor))


@router.post(MEMBER + "/erasure", response_model=ErasureReceipt, summary="Erase a member",
             description="Needs the `personal` and `write` scopes. Closes the account (what is left is forfeited "
                         "by a ledger transaction), destroys the member's data key, personal data, profile, "
                         "consents and log key, and replaces their customer reference; the ledger and the log stay "
                         "verifiable. Final. Erasing an erased member answers the original receipt, whatever the "
                         "Idempotency-Key.", responses=WRITE_PROBLEMS)
async def erase_member(key: PersonalWriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                       member_id: MemberIdPath, idempotency_key: IdempotencyKey) -> JSONResponse:
    return JSONResponse(await lane.run(services.erasures.erase, program_id, member_id, api_actor(key.id),
                                       idempotency_key))


@router.get(MEMBER + "/erasure", response_model=ErasureReceipt, summary="The receipt of a member's erasure",
            responses=READ_PROBLEMS)
def erasure_receipt(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
                    member_id: MemberIdPath) -> JSONResponse:
    return JSONResponse(services.erasures.receipt(program_id, member_id))


@router.get("/erasures", response_model=ErasureList, summary="The program's erasures, oldest first",
            description="The feed a brand follows (`cursor` = the last `next_cursor`) to erase the same members "
                        "from its own systems.", responses=READ_PROBLEMS)
def list_erasures(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath, cursor: Cursor = None,
                  limit: Annotated[int, Query(ge=1, le=200, description="1 to 200")] = 50) -> JSONResponse:
    page = services.erasures.erasures(program_id, cursor=cursor, limit=limit)
    return JSONResponse({"items": page.items, "next_cursor": page.next_cursor})


# ---------------------------------------------------------------- policy, retention, audit log

@router.get("/privacy-policy", response_model=PrivacyPolicyOut, summary="The program's privacy policy",
            responses=READ_PROBLEMS)
def read_policy(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath) -> JSONResponse:
    return JSONResponse(services.personal_data.policy(program_id))


@router.put("/privacy-policy", response_model=PrivacyPolicyOut, summary="Set the program's privacy policy",
            description="The personal fields it keeps ({name: kind}; kinds text, email, phone, date, address) and "
                        "its retention: erase members `erase_after_closed_days` after they closed, remove audit "
                        "entries after `audit_log_days` (null: keep). Only the settings sent change; the same "
                        "settings again change nothing, so it needs no Idempotency-Key.",
            responses=problem_responses(401, 403, 404, 413, 422))
async def set_policy(key: WriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                     body: PrivacyPolicyIn) -> JSONResponse:
    changes = body.model_dump(exclude_unset=True, mode="json")
    return JSONResponse(await lane.run(services.personal_data.set_policy, program_id, changes))


@router.post("/retention-runs", response_model=RetentionRunOut, summary="Apply the program's retention rules now",
             description="Erases members closed longer ago than the policy keeps them, and removes old audit "
                         "entries. Running it again finds nothing left; a replay with the same Idempotency-Key "
                         "returns the first run's report.", responses=WRITE_PROBLEMS)
async def run_retention(key: PersonalWriteKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                        idempotency_key: IdempotencyKey) -> JSONResponse:
    return JSONResponse(await lane.run(_retention_report, services, program_id, idempotency_key))


def _retention_report(services: Services, program_id: str, idempotency_key: str) -> object:
    return StoredResponses(services, program_id).once(
        idempotency_key, {"retention_run": program_id}, lambda: services.retention.run(program_id).as_json())


@router.get("/audit-log", response_model=AuditPage, summary="Who read or changed members' personal data",
            description="Needs the `personal` scope. Oldest first; `member_id` narrows to one member.",
            responses=READ_PROBLEMS)
def audit_log(key: PersonalKey, services: ServicesDep, program_id: ProgramIdPath,
              member_id: Annotated[MemberId | None, Query()] = None, cursor: Cursor = None,
              limit: Annotated[int, Query(ge=1, le=200, description="1 to 200")] = 50) -> JSONResponse:
    page = services.audit_log.entries(program_id, member_id, cursor=cursor, limit=limit)
    return JSONResponse({"items": page.items, "next_cursor": page.next_cursor})
