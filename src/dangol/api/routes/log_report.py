"""The public program report derived from the log (no API key): the figures anyone can
recompute from a mirror with `dangol verify report`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ...domain.program import PROGRAM_ID
from ..program_clock import LIVEMODE_HEADER
from ..deps import ServicesDep
from ..problems import problem_responses
from ..responses import JSONResponse

router = APIRouter(tags=["log"])  # public: no API key


class ReportFigures(BaseModel):
    period: str
    transactions: int
    issued: int
    adjusted: int
    redeemed: int
    expired: int
    reversed: int
    outstanding: int


class ProgramReportOut(BaseModel):
    program: str
    size: int
    root_hash: str | None
    period: Literal["month"]
    periods: list[ReportFigures]
    total: ReportFigures
    livemode: Literal[False] | None = Field(None, description=(
        "Only on a test program's report: false, its figures are of simulated time (the answer then "
        "carries `Dangol-Livemode: false`). A live program's report has no such member: it is exactly "
        "what `dangol verify report` recomputes from a mirror."))


@router.get("/v1/log/report", response_model=ProgramReportOut, summary="A program's report, from the log",
            description="Points issued, adjusted, redeemed, expired, reversed and outstanding (the program's "
                        "liability) per calendar month of occurrence and in total, computed from the log's "
                        "entries up to its latest checkpoint (`size`, `root_hash`). Anyone with a mirror of "
                        "the log at that size gets the same figures (`dangol verify report`).",
            responses=problem_responses(404, 422, why={404: "Unknown program"}))
def program_report(services: ServicesDep, program: Annotated[str, Query(pattern=PROGRAM_ID.pattern, max_length=63)],
                   period: Annotated[Literal["month"], Query()] = "month") -> JSONResponse:
    body = services.log_report.report(program, period)
    return JSONResponse(body, headers={LIVEMODE_HEADER: "false"} if "livemode" in body else {})
