"""Programs and their API keys (admin key only, except reading one's own program)."""

from __future__ import annotations

from fastapi import APIRouter

from ...domain import EarnRate, ProgramPolicy
from ...service import receipts
from ...service.container import Services
from ...service.test_clocks.advance import Advance
from ...service.programs import ADMIN_SCOPE, AUTH_CACHE_SECONDS, Scope
from ..auth import AdminKey, AuthenticatedRoute, ReadKey
from ..deps import ApiKeyIdPath, ProgramIdPath, ServicesDep
from ..program_clock import LIVEMODE_HEADER
from ..idempotency import IdempotencyKey, StoredResponses
from ..lanes import WriteLaneDep
from ..problems import ApiProblem, problem_responses
from ..responses import JSONResponse
from ..schemas import (ApiKeyIn, ApiKeyOut, IssuedKeyList, IssuedKeyOut, PolicyIn, ProgramIn, ProgramList, ProgramOut,
                       TestClockAdvanceIn, TestClockAdvanceOut, TestClockOut)

router = APIRouter(prefix="/v1/programs", tags=["programs"], route_class=AuthenticatedRoute)


def _policy(policy: PolicyIn) -> ProgramPolicy:
    return ProgramPolicy(
        lot_validity_days=policy.lot_validity_days, min_redemption=policy.min_redemption,
        allow_negative_balance=policy.allow_negative_balance, allow_transfers=policy.allow_transfers,
        hold_timeout_seconds=policy.hold_timeout_seconds,
        earn_rate=EarnRate(policy.earn_rate.points, policy.earn_rate.per_minor_units), rounding=policy.rounding)


@router.post("", status_code=201, response_model=ProgramOut, summary="Create a program",
             responses=problem_responses(400, 401, 403, 409, 413, 422))
async def create_program(key: AdminKey, services: ServicesDep, lane: WriteLaneDep, body: ProgramIn,
                         idempotency_key: IdempotencyKey) -> JSONResponse:
    program = await lane.run(services.programs.create_program, body.id, body.name, body.currency,
                             _policy(body.policy), idempotency_key=idempotency_key, test_mode=body.mode == "test")
    marked = {} if program["livemode"] else {LIVEMODE_HEADER: "false"}  # the path names no program yet
    return JSONResponse(program, status_code=201, headers={"Location": f"/v1/programs/{program['id']}", **marked})


@router.get("", response_model=ProgramList, summary="List programs",
            responses=problem_responses(401, 403))
def list_programs(key: AdminKey, services: ServicesDep) -> JSONResponse:
    return JSONResponse({"items": [receipts.program_json(p) for p in services.programs.list_programs()]})


@router.get("/{program_id}", response_model=ProgramOut, summary="Read a program",
            responses=problem_responses(401, 403, 404, 422))
def get_program(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath) -> JSONResponse:
    return JSONResponse(receipts.program_json(services.programs.get_program(program_id)))


@router.get("/{program_id}/test-clock", response_model=TestClockOut, summary="Read a test program's clock",
            responses=problem_responses(401, 403, 404, 409, 422))
def get_test_clock(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath) -> JSONResponse:
    return JSONResponse(services.test_clocks.show(program_id))


@router.post("/{program_id}/test-clock/advance", response_model=TestClockAdvanceOut,
             summary="Advance a test program's clock",
             description="Moves the clock forward (`to` a time or `by` a duration, never backwards), running the "
                         "program's due jobs as that time passes: expiry, expiry warnings, tiers, birthdays, "
                         "statements, retention and its notifications, day by day and at each time a delivery is "
                         "due. A live program has no test clock: 409 `live-program`. Replaying the request with "
                         "the same Idempotency-Key answers the original response and moves nothing.",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422))
async def advance_test_clock(key: AdminKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                             body: TestClockAdvanceIn, idempotency_key: IdempotencyKey) -> JSONResponse:
    advance = Advance(body.to, body.by)
    request = {"advance_test_clock": {"program_id": program_id, **advance.as_json()}}
    stored = StoredResponses(services, f"test-clock:{program_id}")
    # In the write lane, like every write: on SQLite its steps' writes then take their turn with the others'.
    return JSONResponse(await lane.run(
        stored.once, idempotency_key, request, lambda: services.test_clocks.advance(program_id, advance)))


@router.post("/{program_id}/api-keys", status_code=201, response_model=ApiKeyOut,
             summary="Create a program API key",
             description="The token is returned once and stored only hashed. Replaying the request with "
                         "the same Idempotency-Key does not show the token again: it gets a 409 problem "
                         "`api-key-already-issued` naming the key that request created.",
             responses=problem_responses(400, 401, 403, 404, 409, 413, 422))
async def create_api_key(key: AdminKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                         body: ApiKeyIn, idempotency_key: IdempotencyKey) -> JSONResponse:
    return await lane.run(_issue_api_key, services, program_id, body, idempotency_key)


def _issue_api_key(services: Services, program_id: str, body: ApiKeyIn, idempotency_key: str) -> JSONResponse:
    scopes = sorted(set(body.scopes))
    request = {"create_api_key": {"program_id": program_id, "scopes": scopes, "name": body.name}}
    # The admin idempotency scope is the one create_program uses: a key is for one request.
    stored = StoredResponses(services, ADMIN_SCOPE)
    with stored.alone(idempotency_key):
        previous = stored.replay(idempotency_key, request)
        if previous is None:
            api_key, token = services.programs.create_api_key(program_id, {Scope(s) for s in scopes}, body.name)
            created = {"id": api_key.id, "program_id": program_id, "scopes": scopes, "name": api_key.name}
            previous = stored.remember(idempotency_key, request, {"api_key": created})
            if previous is None:
                return JSONResponse({**created, "token": token}, status_code=201)
            # A request with this key stored first (from a process that did not take the
            # key's lock): this key must not stay usable unseen.
            services.programs.revoke_api_key(api_key.id)
    raise ApiProblem("api-key-already-issued", "This Idempotency-Key already created an API key", 409,
                     "API key tokens are shown only once; create another key with a new Idempotency-Key",
                     extensions={"key_id": previous["api_key"]["id"]})


@router.get("/{program_id}/api-keys", response_model=IssuedKeyList, summary="List a program's API keys",
            description="Every key made for the program, revoked ones too, oldest first; never a token.",
            responses=problem_responses(401, 403, 404, 422))
def list_api_keys(key: AdminKey, services: ServicesDep, program_id: ProgramIdPath) -> JSONResponse:
    return JSONResponse({"items": [k.as_json() for k in services.programs.api_keys(program_id)]})


@router.delete("/{program_id}/api-keys/{key_id}", response_model=IssuedKeyOut, summary="Revoke a program API key",
               description="The key stops working at once on this server, and within "
                           f"{AUTH_CACHE_SECONDS:g} seconds on any other process serving the same database. "
                           "Revoking a revoked key changes nothing and answers the same (`revoked_at` is the "
                           "first revocation's), so it needs no Idempotency-Key.",
               responses=problem_responses(401, 403, 404, 422))
async def revoke_api_key(key: AdminKey, services: ServicesDep, lane: WriteLaneDep, program_id: ProgramIdPath,
                         key_id: ApiKeyIdPath) -> JSONResponse:
    revoked = await lane.run(services.programs.revoke_api_key, key_id, program_id)
    return JSONResponse(revoked.as_json())
