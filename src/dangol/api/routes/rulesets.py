"""Rulesets: publishing (admin key), validating (any key of the program), and reading the
rules in force, the upcoming ones and the history of every change (public: members read
them without an API key)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path

from ...service.rulesets import parse_document, validation_json
from ...rules.changes import compare, worsens
from ..auth import AdminKey, AuthenticatedRoute, ReadKey
from ..deps import ProgramIdPath, ServicesDep
from ..idempotency import IdempotencyKey
from ..lanes import WriteLaneDep
from ..problems import problem_responses
from ..responses import JSONResponse
from ..rules_responses import (
    PublishedRulesetOut, RulePolicyOut, RulesetDocumentOut, RulesetHistoryOut, RulesetValidationOut, UpcomingRulesetsOut,
)
from ..rules_schemas import RulePolicyIn, RulesetIn

router = APIRouter(prefix="/v1/programs/{program_id}/rulesets", tags=["rulesets"], route_class=AuthenticatedRoute)
public = APIRouter(prefix="/v1/programs/{program_id}/rulesets", tags=["rulesets"])
HashPath = Annotated[str, Path(pattern=r"^sha256:[0-9a-f]{64}$", description="A ruleset's content hash")]
READ_PROBLEMS = problem_responses(404, 422, why={404: "Unknown program"})


def _text(body: RulesetIn) -> tuple[str, str | None]:
    if isinstance(body.document, dict):
        # Indented, so that every problem still has a line to point at.
        return json.dumps(body.document, indent=2, ensure_ascii=False), "json"
    return body.document, body.format


@router.post("", status_code=201, response_model=PublishedRulesetOut, summary="Publish a ruleset",
             description="Validated, content-addressed and versioned. Never retroactive. A change that "
                         "worsens members' earning needs the program's notice period, unless `urgent` "
                         "(with a `reason` members see). See docs/rules.md.",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422, why={
                 404: "Unknown program",
                 409: "The change worsens earning without the notice the policy asks (notice-required), or the "
                      "Idempotency-Key was used for another request"}))
async def publish(key: AdminKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                  body: RulesetIn, idempotency_key: IdempotencyKey) -> JSONResponse:
    text, fmt = _text(body)
    result = await lane.run(lambda: services.rulesets.publish(
        program_id, text, format=fmt, effective_from=body.effective_from, urgent=body.urgent, reason=body.reason,
        idempotency_key=idempotency_key))
    return JSONResponse(result, status_code=201,
                        headers={"Location": f"/v1/programs/{program_id}/rulesets/{result['hash']}"})


@router.post("/validate", response_model=RulesetValidationOut,
             summary="Validate a ruleset document (nothing is published)",
             description="Every mistake with its line and field, or the hash and, against the rules in "
                         "force, what would change and whether it worsens earning.",
             responses=problem_responses(401, 403, 404, 413, 422, why={404: "Unknown program"}))
def validate(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath, body: RulesetIn) -> JSONResponse:
    text, fmt = _text(body)
    ruleset = parse_document(text, fmt)
    result = validation_json(ruleset)
    services.programs.get_program(program_id)
    current = services.rulesets.parsed_current(program_id)
    changes = compare(current, ruleset) if current is not None else ()
    result["changes"] = [c.as_json() for c in changes]
    result["worsens"] = worsens(changes)
    return JSONResponse(result)


@router.put("/policy", response_model=RulePolicyOut, summary="Set the program's notice policy",
            responses=problem_responses(401, 403, 404, 413, 422, why={404: "Unknown program"}))
async def set_policy(key: AdminKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                     body: RulePolicyIn) -> JSONResponse:
    # A PUT is idempotent by nature: the same body twice leaves the same policy.
    return JSONResponse(await lane.run(services.rulesets.set_policy, program_id, body.notice_days,
                                       body.default_time_zone))


@public.get("", response_model=RulesetHistoryOut, summary="Every published ruleset, newest first (public)",
            description="The notice policy, and for each ruleset its status (in_force, upcoming, "
                        "superseded), what changed, and whether it was urgent and why.",
            responses=READ_PROBLEMS)
def history(services: ServicesDep, program_id: ProgramIdPath) -> JSONResponse:
    return JSONResponse(services.rulesets.history(program_id))


@public.get("/current", response_model=RulesetDocumentOut, summary="The ruleset in force (public)",
            responses=problem_responses(404, 409, 422, why={404: "Unknown program",
                                                            409: "No ruleset is in force (no-rules-in-force)"}))
def current(services: ServicesDep, program_id: ProgramIdPath) -> JSONResponse:
    return JSONResponse(services.rulesets.current(program_id))


@public.get("/upcoming", response_model=UpcomingRulesetsOut, summary="Published rulesets not yet in force (public)",
            responses=READ_PROBLEMS)
def upcoming(services: ServicesDep, program_id: ProgramIdPath) -> JSONResponse:
    return JSONResponse(services.rulesets.upcoming(program_id))


@public.get("/policy", response_model=RulePolicyOut, summary="The program's notice policy (public)",
            responses=READ_PROBLEMS)
def policy(services: ServicesDep, program_id: ProgramIdPath) -> JSONResponse:
    return JSONResponse(services.rulesets.policy(program_id))


@public.get("/{ruleset_hash}", response_model=RulesetDocumentOut,
            summary="One published ruleset, with its document (public)",
            responses=problem_responses(404, 422, why={404: "Unknown program, or no ruleset of this hash in it"}))
def get_ruleset(services: ServicesDep, program_id: ProgramIdPath, ruleset_hash: HashPath) -> JSONResponse:
    return JSONResponse(services.rulesets.get(program_id, ruleset_hash))
