"""The audit log for admins and auditors: recent events, the last chain verification, CSV export
(audited). Verifying the whole chain reads every event, so a page view shows the last recorded
verification and the newest checkpoint; an admin can verify now."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from rescind.security import audit
from rescind.security.audit_checkpoints import (
    last_verification,
    newest_checkpoint,
    record_verification,
    verify_audit,
)
from rescind.store.models import AuditEvent
from rescind.store.statuses import Role
from rescind.web.console.auth_routes import FormDep
from rescind.web.console.deps import Staff, StaffDep
from rescind.web.console.session import csrf_ok, render
from rescind.web.deps import SettingsDep
from rescind.web.security import CSRF_FIELD

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
def audit_page(request: Request, staff: StaffDep, settings: SettingsDep) -> Response:
    """The latest events, the last verification and the newest checkpoint."""
    if staff.user.role not in READERS:
        return _forbidden(request, staff)
    events = list(staff.db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(PAGE)))
    verified = last_verification(staff.db)
    audit.record(staff.db, f"user:{staff.user.id}", "audit.view")
    return render(
        request,
        "console/audit.html",
        {
            "events": events,
            "verified": verified,
            "checkpoint": newest_checkpoint(settings),
            "can_verify": staff.user.role == Role.ADMIN,
            "error": request.query_params.get("error"),
        },
        user=staff.user,
        session=staff.session,
    )


@router.post("/audit/verify")
def verify_now(request: Request, form: FormDep, staff: StaffDep, settings: SettingsDep) -> Response:
    """Admins: verify the whole chain against every checkpoint now, and record the result."""
    if staff.user.role != Role.ADMIN:
        return _forbidden(request, staff)
    if not csrf_ok(staff.session, form.get(CSRF_FIELD)):
        return RedirectResponse("/console/audit?error=expired", status_code=303)
    record_verification(staff.db, f"user:{staff.user.id}", verify_audit(staff.db, settings))
    return RedirectResponse("/console/audit", status_code=303)


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
