"""The Compliance page (admins and auditors): a period's figures with charts, downloads in
every report format, and the list of cases behind each figure. Every view and download is an
audit event; reviewers are refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from rescind.reports import dsa_templates, figures
from rescind.reports.figures import UnknownFigure
from rescind.reports.period import InvalidPeriod, parse_period
from rescind.reports.render import FORMATS, Links, PdfUnavailable, html_body
from rescind.reports.service import produce
from rescind.security import audit
from rescind.store.columns import utcnow
from rescind.store.statuses import Role
from rescind.web.console.deps import Staff, StaffDep
from rescind.web.console.session import render
from rescind.web.deps import SettingsDep

router = APIRouter(prefix="/console/compliance", include_in_schema=False)
READERS = (Role.ADMIN, Role.AUDITOR)
PAGE = 200
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}
DateQuery = Annotated[str | None, Query(alias="from", max_length=40)]
ToQuery = Annotated[str | None, Query(alias="to", max_length=40)]


def _forbidden(request: Request, staff: Staff) -> Response:
    return render(
        request,
        "console/forbidden.html",
        {},
        user=staff.user,
        session=staff.session,
        status_code=403,
    )


def _default_period() -> tuple[str, str]:
    """The last 30 whole days, up to and including today (UTC)."""
    today = utcnow().date()
    return (today - timedelta(days=29)).isoformat(), (today + timedelta(days=1)).isoformat()


def _period(start: str | None, end: str | None) -> tuple[str, str, tuple[datetime, datetime]]:
    given = (start or _default_period()[0], end or _default_period()[1])
    return given[0], given[1], parse_period(*given)


@router.get("")
def compliance_page(
    request: Request,
    staff: StaffDep,
    settings: SettingsDep,
    start: DateQuery = None,
    end: ToQuery = None,
) -> Response:
    """The period picker, the figures and charts, and the downloads."""
    if staff.user.role not in READERS:
        return _forbidden(request, staff)
    context: dict[str, object] = {"formats": FORMATS, "error": None, "body": None}
    try:
        shown_from, shown_to, (since, until) = _period(start, end)
    except InvalidPeriod as exc:
        context.update(error=str(exc), shown_from=start or "", shown_to=end or "")
        return render(
            request,
            "console/compliance.html",
            context,
            user=staff.user,
            session=staff.session,
            status_code=400,
        )
    report = figures.compute(staff.db, settings, since, until)
    audit.record(
        staff.db,
        f"user:{staff.user.id}",
        "report.view",
        detail={
            "from": since.isoformat(),
            "to": until.isoformat(),
            "chain_head_id": report.chain_head_id,
        },
    )
    context.update(
        report=report,
        body=html_body(report, Links(report), missed_limit=200),
        shown_from=shown_from,
        shown_to=shown_to,
    )
    return render(
        request, "console/compliance.html", context, user=staff.user, session=staff.session
    )


@router.get("/report.{fmt}")
def compliance_download(
    fmt: str,
    request: Request,
    staff: StaffDep,
    settings: SettingsDep,
    start: DateQuery = None,
    end: ToQuery = None,
) -> Response:
    """The report as a file (audited as `report.generate`, with the format)."""
    if staff.user.role not in READERS:
        return _forbidden(request, staff)
    if fmt not in FORMATS:
        return Response(f"format must be one of {', '.join(FORMATS)}", status_code=404)
    try:
        shown_from, shown_to, (since, until) = _period(start, end)
    except InvalidPeriod as exc:
        return Response(str(exc), status_code=400, media_type="text/plain")
    try:
        _report, body = produce(
            staff.db, settings, since, until, fmt, actor=f"user:{staff.user.id}"
        )
    except PdfUnavailable as exc:
        return Response(str(exc), status_code=503, media_type="text/plain")
    name = f"rescind-report-{shown_from}-{shown_to}.{fmt}".replace(":", "")
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@router.get("/transparency.csv")
def compliance_transparency(
    request: Request, staff: StaffDep, start: DateQuery = None, end: ToQuery = None
) -> Response:
    """The DSA Art. 15/24 figures as CSV (audited as `report.dsa_figures`)."""
    if staff.user.role not in READERS:
        return _forbidden(request, staff)
    try:
        shown_from, shown_to, (since, until) = _period(start, end)
    except InvalidPeriod as exc:
        return Response(str(exc), status_code=400, media_type="text/plain")
    text = dsa_templates.to_csv(staff.db, since, until)
    audit.record(
        staff.db,
        f"user:{staff.user.id}",
        "report.dsa_figures",
        detail={"from": since.isoformat(), "to": until.isoformat()},
    )
    name = f"rescind-dsa-figures-{shown_from}-{shown_to}.csv".replace(":", "")
    return Response(
        text,
        media_type=MEDIA_TYPES["csv"],
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@router.get("/cases")
def compliance_cases(
    request: Request,
    staff: StaffDep,
    start: DateQuery = None,
    end: ToQuery = None,
    figure: Annotated[str, Query(max_length=80)] = "received",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The cases behind one figure of a period's report, in receipt order (audited)."""
    if staff.user.role not in READERS:
        return _forbidden(request, staff)
    try:
        shown_from, shown_to, (since, until) = _period(start, end)
        query = figures.case_query(figure, since, until, utcnow())
    except (InvalidPeriod, UnknownFigure) as exc:
        context = {"error": str(exc) or figure, "rows": [], "figure": figure}
        return render(
            request,
            "console/compliance_cases.html",
            context,
            user=staff.user,
            session=staff.session,
            status_code=400,
        )
    rows = staff.db.execute(query.offset((page - 1) * PAGE).limit(PAGE + 1)).all()
    audit.record(
        staff.db,
        f"user:{staff.user.id}",
        "report.cases",
        detail={"figure": figure, "from": since.isoformat(), "to": until.isoformat(), "page": page},
    )
    return render(
        request,
        "console/compliance_cases.html",
        {
            "error": None,
            "figure": figure,
            "rows": rows[:PAGE],
            "page": page,
            "more": len(rows) > PAGE,
            "shown_from": shown_from,
            "shown_to": shown_to,
            "count": staff.db.scalar(select(func.count()).select_from(query.subquery())),
        },
        user=staff.user,
        session=staff.session,
    )
