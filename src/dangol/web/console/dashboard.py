"""The console's dashboard: `/console/programs/{program}/dashboard` (figures and SVG charts)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from ...domain.errors import DomainError
from ...service.dashboard import Figures, Overview
from ...staff.roles import Permission
from .charts import Chart, bar_chart
from .common import N_, as_staff, render, services_of, translate
from .session import PATH, StaffVisit

router = APIRouter(prefix=PATH, include_in_schema=False)

SERIES = (("issued", N_("Points issued")), ("redeemed", N_("Points redeemed")), ("expired", N_("Points expired")),
          ("outstanding", N_("Points outstanding")))


def charts(request: Request, prefix: str, figures: list[Figures], label: str) -> list[Chart]:
    labels = [f.start.strftime(label) for f in figures]
    return [bar_chart(f"{prefix}-{name}", translate(request, title), labels, [getattr(f, name) for f in figures])
            for name, title in SERIES]


@router.get("/programs/{program_id}/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, program_id: str) -> Response:
    async def show(request: Request, visit: StaffVisit) -> Response:
        services = services_of(request)
        try:
            program = await run_in_threadpool(services.programs.get_program, program_id)
        except DomainError:
            return render(request, visit, "console/forbidden.html", {"not_found": True}, status_code=404)
        overview: Overview = await run_in_threadpool(services.dashboard.overview, program_id)
        return render(request, visit, "console/dashboard.html", {
            "program": program, "o": overview, "daily": charts(request, "day", overview.days, "%m-%d"),
            "monthly": charts(request, "month", overview.months, "%Y-%m")})
    return await as_staff(request, Permission.VIEW, show)
