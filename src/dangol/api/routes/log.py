"""The transparency log over HTTP: public reads (checkpoints, keys, proofs, entries),
witnesses' cosignatures, signing on demand (admin), and a member's log key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse

from ...service.container import Services
from ...service.log import b64
from ..auth import AdminKey, AuthenticatedRoute, ReadKey
from ..deps import MemberIdPath, ProgramIdPath, ServicesDep
from ..idempotency import IdempotencyKey, StoredResponses
from ..lanes import WriteLaneDep
from ..problems import Problem, problem_responses
from ..responses import JSONResponse
from ..schemas import (
    CheckpointSigned, ConsistencyProofOut, CosignaturesAccepted, InclusionProofOut, LogEntryPage, MemberLogKeyOut,
    WitnessesOut,
)

router = APIRouter(prefix="/v1/log", tags=["transparency log"])  # public: no API key
keyed = APIRouter(tags=["transparency log"], route_class=AuthenticatedRoute)

TEXT = "text/plain; charset=utf-8"
MAX_SIZE = 2**63 - 1
Size = Annotated[int, Query(ge=0, le=MAX_SIZE, description="A tree size")]
OUTSIDE_TREE = "Invalid request: a size or index outside the integrated tree, or a malformed parameter"
BAD_LOG_KEY = "The log's signing key cannot be used (its file is not a key, or names another origin)"


def _text(description: str) -> dict[int | str, dict[str, Any]]:
    """A 200 of text only: a note or a key is never JSON."""
    return {200: {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}}


@router.get("/checkpoint", response_class=PlainTextResponse, summary="The latest signed checkpoint",
            responses={**_text("The signed note"), **problem_responses(404, why={
                404: "No checkpoint has been signed yet (a server signs one of size 0 at start-up)"})},
            description="A C2SP tlog-checkpoint signed note, with every witness cosignature collected so far.")
def latest_checkpoint(services: ServicesDep) -> PlainTextResponse:
    return PlainTextResponse(services.log.checkpoint_note(), media_type=TEXT)


@router.get("/checkpoints/{size}", response_class=PlainTextResponse,
            responses={**_text("The signed note"), **problem_responses(404, 422, why={
                404: "No checkpoint of this size was signed", 422: OUTSIDE_TREE})},
            summary="The signed checkpoint of a tree size, if one was signed")
def checkpoint_of_size(services: ServicesDep, size: Annotated[int, Path(ge=0, le=MAX_SIZE)]) -> PlainTextResponse:
    return PlainTextResponse(services.log.checkpoint_note(size), media_type=TEXT)


@router.get("/key", response_class=PlainTextResponse,
            responses={**_text("The verifier key and a newline"), 422: {"model": Problem, "description": BAD_LOG_KEY}},
            summary="The log's verifier key", description="`<origin>+<key ID>+<base64(0x01 || Ed25519 key)>`")
def log_key(services: ServicesDep) -> PlainTextResponse:
    return PlainTextResponse(services.log.verifier_key() + "\n", media_type=TEXT)


@router.get("/witnesses", response_model=WitnessesOut, responses=problem_responses(),
            summary="Registered witnesses and the quorum")
def witnesses(services: ServicesDep) -> JSONResponse:
    return JSONResponse(services.log.witnesses())


@router.get("/proof/inclusion", response_model=InclusionProofOut, responses=problem_responses(404, 422, why={
                404: "No entry has this sequence, or it is not integrated into the tree yet", 422: OUTSIDE_TREE}),
            summary="Inclusion proof of an entry in the tree of a size",
            description="Name the entry by its leaf `index` or by the `sequence` of its write receipt.")
def inclusion_proof(services: ServicesDep, size: Size,
                    index: Annotated[int | None, Query(ge=0, le=MAX_SIZE)] = None,
                    sequence: Annotated[int | None, Query(ge=0, le=MAX_SIZE)] = None) -> JSONResponse:
    return JSONResponse(services.log.inclusion_proof(size, index=index, sequence=sequence))


@router.get("/proof/consistency", response_model=ConsistencyProofOut,
            responses=problem_responses(422, why={422: OUTSIDE_TREE}),
            summary="Consistency proof between two tree sizes")
def consistency_proof(services: ServicesDep, from_: Annotated[int, Query(alias="from", ge=0, le=MAX_SIZE)],
                      to: Annotated[int, Query(ge=0, le=MAX_SIZE)]) -> JSONResponse:
    return JSONResponse(services.log.consistency_proof(from_, to))


@router.get("/entries", response_model=LogEntryPage, responses=problem_responses(422, why={422: OUTSIDE_TREE}),
            summary="Integrated entries from a leaf index, to mirror the log")
def entries(services: ServicesDep, start: Annotated[int, Query(ge=0, le=MAX_SIZE)] = 0,
            limit: Annotated[int, Query(ge=1, le=1000)] = 1000) -> JSONResponse:
    return JSONResponse({"entries": services.log.entries(start, limit)})


@router.post("/cosignatures", response_model=CosignaturesAccepted, responses=problem_responses(400, 409, 413, why={
                 400: "Not a signed checkpoint, or no valid cosignature by a registered witness (bad-cosignature)",
                 409: "The log did not sign this checkpoint"}),
             summary="Submit witness cosignatures of a checkpoint",
             openapi_extra={"requestBody": {"required": True, "content": {TEXT: {"schema": {"type": "string"}}}}},
             description="The body is the checkpoint note as the log signed it, with the witness's "
                         "cosignature line(s) added. Accepted only from registered witness keys and only "
                         "for a checkpoint the log signed. Submitting the same cosignature again is harmless.")
async def cosign(request: Request, services: ServicesDep, lane: WriteLaneDep) -> JSONResponse:
    # The body is note text, not JSON: read as is (BodySizeLimit bounds it); the note parser
    # refuses what is not UTF-8 or not a note.
    note = (await request.body()).decode("utf-8", errors="replace")
    return JSONResponse(await lane.run(services.log.add_cosignatures, note))


@keyed.post("/v1/log/checkpoints", response_model=CheckpointSigned,
            responses=problem_responses(400, 401, 403, 409, 413, 422, why={
                409: "The stored tree does not extend the last checkpoint (log-inconsistent), or the "
                     "Idempotency-Key was used for another request", 422: BAD_LOG_KEY}),
            summary="Integrate pending entries and sign a checkpoint now",
            description="The server also does this on a schedule. Signs nothing new when the tree has not "
                        "grown; refuses (409) if the stored tree does not extend the last checkpoint.")
async def sign_now(key: AdminKey, services: ServicesDep, lane: WriteLaneDep,
                   idempotency_key: IdempotencyKey) -> JSONResponse:
    return JSONResponse(await lane.run(_sign, services, idempotency_key))


def _sign(services: Services, idempotency_key: str) -> Any:
    def sign() -> dict[str, Any]:
        services.log.integrate()
        signed = services.log.sign()
        return {"size": signed.size, "root_hash": b64(signed.root_hash), "checkpoint": signed.note}

    return StoredResponses(services, "log").once(idempotency_key, {"sign_checkpoint": {}}, sign)


@keyed.get("/v1/programs/{program_id}/members/{member_id}/log-key", response_model=MemberLogKeyOut,
           responses=problem_responses(401, 403, 404, 422, why={404: "Unknown program or member"}),
           tags=["members"],
           summary="A member's key for finding their own entries in the log")
def member_log_key(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
                   member_id: MemberIdPath) -> JSONResponse:
    return JSONResponse(services.log.member_key(program_id, member_id))
