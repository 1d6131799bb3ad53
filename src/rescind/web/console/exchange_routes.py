"""The Exchange page: partners, StopNCII and the verdicts partners sent on our entries. Every
staff role reads it (each view audited); only admins disable or enable a partner."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from rescind.exchange import overview
from rescind.exchange.partners import set_partner_active
from rescind.platform.errors import PlatformError
from rescind.security import audit
from rescind.store.statuses import Role
from rescind.web.console.auth_routes import FormDep
from rescind.web.console.deps import StaffDep
from rescind.web.console.session import csrf_ok, render
from rescind.web.deps import SettingsDep
from rescind.web.security import CSRF_FIELD

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/exchange")
def exchange_page(request: Request, staff: StaffDep, settings: SettingsDep) -> Response:
    """Partners and their pulls, StopNCII's state, partners' verdicts on our entries."""
    seen = overview.overview(staff.db, settings)
    audit.record(
        staff.db,
        f"user:{staff.user.id}",
        "exchange.view",
        detail={"partners": len(seen.partners), "feedback": len(seen.feedback)},
    )
    return render(
        request,
        "console/exchange.html",
        {
            "seen": seen,
            "can_manage": staff.user.role == Role.ADMIN,
            "done": request.query_params.get("done"),
            "error": request.query_params.get("error"),
        },
        user=staff.user,
        session=staff.session,
    )


@router.post("/exchange/partners/{name}")
def partner_state(name: str, form: FormDep, staff: StaffDep) -> Response:
    """Stop (or resume) pulling a partner: admins only, audited."""
    if staff.user.role != Role.ADMIN or not csrf_ok(staff.session, form.get(CSRF_FIELD)):
        return RedirectResponse("/console/exchange?error=not_allowed", status_code=303)
    wanted = form.get("active")
    if wanted not in ("0", "1"):
        return RedirectResponse("/console/exchange?error=invalid", status_code=303)
    try:
        set_partner_active(staff.db, name, wanted == "1", actor=f"user:{staff.user.id}")
    except PlatformError:
        staff.db.rollback()
        return RedirectResponse("/console/exchange?error=no_partner", status_code=303)
    done = "enabled" if wanted == "1" else "disabled"
    return RedirectResponse(f"/console/exchange?done={done}", status_code=303)
