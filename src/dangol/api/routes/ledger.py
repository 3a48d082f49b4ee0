"""A member's points: the operations that move them, and the reads that show them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ...domain import Money
from ...domain import commands as cmd
from ...service.reads import MAX_PAGE, Page
from ..auth import AuthenticatedRoute, ReadKey, WriteKey
from ..deps import MemberIdPath, ProgramIdPath, ServicesDep
from ..idempotency import IdempotencyKey
from ..lanes import WriteLaneDep
from ..problems import problem_responses
from ..responses import JSONResponse
from ..schemas import (
    AdjustmentIn, BalanceOut, EarnIn, EarnReceipt, HistoryPage, LotPage, MoneyIn, RedeemIn, ReversalIn,
    ReversalReceipt, TransactionReceipt, TransferIn,
)

router = APIRouter(prefix="/v1/programs/{program_id}/members/{member_id}", tags=["ledger"],
                   route_class=AuthenticatedRoute)
WRITE_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422)
READ_PROBLEMS = problem_responses(401, 403, 404, 422)
Cursor = Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$", description="`next_cursor` of the previous page")]


def _money(money: MoneyIn | None) -> Money | None:
    return None if money is None else Money(money.amount, money.currency)


@router.post("/earn", response_model=EarnReceipt, summary="Earn points",
             description="Either explicit `points`, or an order `amount` converted at the program's earn rate.",
             responses=WRITE_PROBLEMS)
async def earn(key: WriteKey, lane: WriteLaneDep, program_id: ProgramIdPath,
               member_id: MemberIdPath, body: EarnIn, idempotency_key: IdempotencyKey) -> JSONResponse:
    command = cmd.Earn(member_id, points=body.points, money=_money(body.amount), order_ref=body.order_ref,
                       available_at=body.available_at, expires_at=body.expires_at, reason=body.reason)
    return JSONResponse(await lane.ledger(program_id, command, idempotency_key))


@router.post("/redeem", response_model=TransactionReceipt, summary="Redeem points",
             description="Points are taken first-expiring-first, from the program's minimum redemption up.",
             responses=WRITE_PROBLEMS)
async def redeem(key: WriteKey, lane: WriteLaneDep, program_id: ProgramIdPath,
                 member_id: MemberIdPath, body: RedeemIn, idempotency_key: IdempotencyKey) -> JSONResponse:
    command = cmd.Redeem(member_id, body.points, order_ref=body.order_ref, reason=body.reason)
    return JSONResponse(await lane.ledger(program_id, command, idempotency_key))


@router.post("/reversals", response_model=ReversalReceipt, summary="Reverse an order (refund clawback)",
             description="Claws back what the order earned, in proportion to the refund when one is given.",
             responses=WRITE_PROBLEMS)
async def reverse(key: WriteKey, lane: WriteLaneDep, program_id: ProgramIdPath,
                  member_id: MemberIdPath, body: ReversalIn, idempotency_key: IdempotencyKey) -> JSONResponse:
    command = cmd.Reverse(member_id, body.order_ref, refund=_money(body.refund), reason=body.reason)
    return JSONResponse(await lane.ledger(program_id, command, idempotency_key))


@router.post("/adjustments", response_model=TransactionReceipt, summary="Adjust points (operator correction)",
             responses=WRITE_PROBLEMS)
async def adjust(key: WriteKey, lane: WriteLaneDep, program_id: ProgramIdPath,
                 member_id: MemberIdPath, body: AdjustmentIn, idempotency_key: IdempotencyKey) -> JSONResponse:
    command = cmd.Adjust(member_id, body.points, body.reason, expires_at=body.expires_at)
    return JSONResponse(await lane.ledger(program_id, command, idempotency_key))


@router.post("/transfers", response_model=TransactionReceipt, summary="Transfer points to another member",
             responses=WRITE_PROBLEMS)
async def transfer(key: WriteKey, lane: WriteLaneDep, program_id: ProgramIdPath,
                   member_id: MemberIdPath, body: TransferIn, idempotency_key: IdempotencyKey) -> JSONResponse:
    command = cmd.Transfer(member_id, body.to_member_id, body.points, reason=body.reason)
    return JSONResponse(await lane.ledger(program_id, command, idempotency_key))


@router.get("/balance", response_model=BalanceOut, summary="A member's balance",
            description="Available, pending and held points, and what expires within 30 days.",
            responses=READ_PROBLEMS)
def balance(key: ReadKey, services: ServicesDep, program_id: ProgramIdPath,
            member_id: MemberIdPath) -> JSONResponse:
    return JSONResponse(services.reader.balance(program_id, member_id))


def _page(request: Request, page: Page) -> JSONResponse:
    headers = {}
    if page.next_cursor is not None:
        headers["Link"] = f'<{request.url.include_query_params(cursor=page.next_cursor)}>; rel="next"'
    return JSONResponse({"items": page.items, "next_cursor": page.next_cursor}, headers=headers)


@router.get("/lots", response_model=LotPage, summary="A member's point lots",
            description="Lots in the order they were earned; spent lots only with `include_spent`.",
            responses=READ_PROBLEMS)
def lots(key: ReadKey, services: ServicesDep, request: Request, program_id: ProgramIdPath,
         member_id: MemberIdPath, include_spent: bool = False, cursor: Cursor = None,
         limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50) -> JSONResponse:
    return _page(request, services.reader.lots(program_id, member_id, include_spent=include_spent,
                                               cursor=cursor, limit=limit))


@router.get("/transactions", response_model=HistoryPage, summary="A member's transaction history",
            description="Newest first. Follow `next_cursor` (or the `Link: rel=\"next\"` header) for older ones.",
            responses=READ_PROBLEMS)
def transactions(key: ReadKey, services: ServicesDep, request: Request, program_id: ProgramIdPath,
                 member_id: MemberIdPath, cursor: Cursor = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20) -> JSONResponse:
    return _page(request, services.reader.history(program_id, member_id, cursor=cursor, limit=limit))
