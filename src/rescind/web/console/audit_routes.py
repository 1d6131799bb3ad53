"""The audit log for admins and auditors: recent events, chain check, CSV export (audited)."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from rescind.security import audit
from rescind.store.models import AuditEvent
from rescind.store.statuses import Role
from rescind.web.console.deps import Staff, StaffDep
from rescind.web.console.session import render

router = APIRouter(prefix="/console", include_in_schema=False)
READERS = (Role.ADMIN, Role.AUDITOR)
PAGE = 200


def _forbidden(request: Request, staff: Staff) -> Response:
    return render(
        request,
        "console/forbidden.html",
        {},
        user=staff.user,
        session=staff.session,
        status_code=403,
    )


@router.get("/audit")
def audit_page(request: Request, staff: StaffDep) -> Response:
    """The latest events and whether the chain verifies."""
    if staff.user.role not in READERS:
        return _forbidden(request, staff)
    events = list(staff.db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(PAGE)))
    report = audit.verify_chain(staff.db)
    audit.record(staff.db, f"user:{staff.user.id}", "audit.view")
    return render(
        request,
        "console/audit.html",
        {"events": events, "report": report},
        user=staff.user,
        session=staff.session,
    )


@router.get("/audit.csv")
def audit_export(request: Request, staff: StaffDep) -> Response:
    """The whole log as CSV; the export itself is an audit event."""
    if staff.user.role not in READERS:
        return _forbidden(request, staff)
    audit.record(staff.db, f"user:{staff.user.id}", "audit.export")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["id", "at", "actor", "action", "subject_type", "subject_id", "detail", "prev_hash", "hash"]
    )
    for e in staff.db.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        writer.writerow(
            [
                e.id,
                e.at.isoformat(),
                e.actor,
                e.action,
                e.subject_type or "",
                e.subject_id or "",
                e.detail or "",
                e.prev_hash,
                e.hash,
            ]
        )
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"content-disposition": 'attachment; filename="rescind-audit.csv"'},
    )
