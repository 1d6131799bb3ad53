"""CyberTipline reports and their preservation records: admins only, every view audited. A
report whose submit answer was lost (`needs_check`) is resolved here once the admin checked
with NCMEC (`rescind.exchange.ncmec.resolve_needs_check`)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from rescind.exchange import ncmec
from rescind.security import audit
from rescind.store.models import Preservation, TiplineReport
from rescind.store.models import Request as Case
from rescind.store.statuses import Role
from rescind.web.console.auth_routes import FormDep
from rescind.web.console.deps import StaffDep
from rescind.web.console.session import csrf_ok, render
from rescind.web.security import CSRF_FIELD

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 200


@router.get("/ncmec")
def reports_page(request: Request, staff: StaffDep) -> Response:
    """The latest reports with their state, and what is preserved for each, until when."""
    if staff.user.role != Role.ADMIN:
        return render(
            request,
            "console/forbidden.html",
            {},
            user=staff.user,
            session=staff.session,
            status_code=403,
        )
    reports = list(
        staff.db.scalars(select(TiplineReport).order_by(TiplineReport.id.desc()).limit(PAGE))
    )
    ids = [r.id for r in reports]
    kept = {
        p.report_id: p
        for p in staff.db.scalars(select(Preservation).where(Preservation.report_id.in_(ids)))
    }
    cases = dict(
        staff.db.execute(
            select(Case.id, Case.case_number).where(Case.id.in_({r.request_id for r in reports}))
        ).all()
    )
    audit.record(
        staff.db,
        f"user:{staff.user.id}",
        "preservation.view",
        detail={"reports": ids},
    )
    return render(
        request,
        "console/ncmec.html",
        {
            "reports": reports,
            "kept": kept,
            "cases": cases,
            "done": request.query_params.get("done"),
            "error": request.query_params.get("error"),
        },
        user=staff.user,
        session=staff.session,
    )


@router.post("/ncmec/{report_id}/check")
def resolve(report_id: int, form: FormDep, staff: StaffDep) -> Response:
    """Record what NCMEC holds of a report whose submit answer was lost."""
    if staff.user.role != Role.ADMIN or not csrf_ok(staff.session, form.get(CSRF_FIELD)):
        return RedirectResponse("/console/ncmec?error=not_allowed", status_code=303)
    report = staff.db.get(TiplineReport, report_id)
    found = form.get("ncmec_report_id")
    try:
        if report is None:
            raise ncmec.CheckRefused()
        ncmec.resolve_needs_check(
            staff.db, report, f"user:{staff.user.id}", found if isinstance(found, str) else None
        )
    except ncmec.CheckRefused:
        staff.db.rollback()
        return RedirectResponse("/console/ncmec?error=invalid", status_code=303)
    return RedirectResponse("/console/ncmec?done=resolved", status_code=303)
