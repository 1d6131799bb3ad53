"""The appeals queue: open appeals with the decision appealed, decided upheld or dismissed with
a reason by a reviewer who took no part in that decision (`rescind.cases.appeals`)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from rescind.cases.appeals import (
    AppealError,
    decide_appeal,
    get_appeal,
    item_number,
    open_appeals,
    original_deciders,
)
from rescind.cases.errors import CaseClosed, InvalidDecision, NotAllowed
from rescind.security import audit
from rescind.store.models import Action, Appeal, Decision, RequestItem, User
from rescind.store.models import Request as Case
from rescind.web.console.auth_routes import FormDep
from rescind.web.console.deps import StaffDep
from rescind.web.console.session import csrf_ok, render
from rescind.web.deps import SettingsDep, services_of
from rescind.web.security import CSRF_FIELD

router = APIRouter(prefix="/console", include_in_schema=False)


@dataclass(frozen=True)
class AppealRow:
    """One open appeal as the queue shows it."""

    appeal: Appeal
    case: Case | None
    action: Action | None
    decision: Decision | None
    item: RequestItem | None  # the item whose rejection a requester appealed
    item_number: int | None
    deciders: list[str]
    may_decide: bool


def _back(**params: str) -> RedirectResponse:
    query = "&".join(f"{k}={quote(v)}" for k, v in params.items())
    return RedirectResponse("/console/appeals" + (f"?{query}" if query else ""), status_code=303)


@router.get("/appeals")
def appeals_page(request: Request, staff: StaffDep) -> Response:
    """Open appeals, oldest first; who decided each case (they may not decide its appeal)."""
    names = {u.id: u.username for u in staff.db.scalars(select(User))}
    rows = []
    for appeal in open_appeals(staff.db):
        deciders = original_deciders(staff.db, appeal)
        case = staff.db.get(Case, appeal.request_id) if appeal.request_id else None
        rows.append(
            AppealRow(
                appeal=appeal,
                case=case,
                action=staff.db.get(Action, appeal.action_id) if appeal.action_id else None,
                decision=staff.db.get(Decision, appeal.decision_id) if appeal.decision_id else None,
                item=staff.db.get(RequestItem, appeal.item_id) if appeal.item_id else None,
                item_number=item_number(case, appeal.item_id) if case is not None else None,
                deciders=sorted(names.get(u, str(u)) for u in deciders),
                may_decide=staff.can_decide and staff.user.id not in deciders,
            )
        )
    audit.record(staff.db, f"user:{staff.user.id}", "appeal.list", detail={"open": len(rows)})
    return render(
        request,
        "console/appeals.html",
        {
            "rows": rows,
            "done": request.query_params.get("done"),
            "error": request.query_params.get("error"),
            "detail": request.query_params.get("detail"),
        },
        user=staff.user,
        session=staff.session,
    )


@router.post("/appeals/{appeal_id}/decision")
def decide(
    appeal_id: int, request: Request, form: FormDep, staff: StaffDep, settings: SettingsDep
) -> Response:
    """Uphold or dismiss an appeal, with a required reason."""
    if not csrf_ok(staff.session, form.get(CSRF_FIELD)):
        return _back(error="expired")
    outcome, reason = form.get("outcome"), form.get("reason")
    try:
        if outcome not in ("upheld", "dismissed"):
            raise InvalidDecision("choose upheld or dismissed")
        appeal = get_appeal(staff.db, appeal_id)
        decide_appeal(
            staff.db,
            settings,
            appeal,
            staff.reviewer,
            outcome == "upheld",
            reason if isinstance(reason, str) else None,
            enforce=services_of(request.app).enforce,
        )
    except InvalidDecision as exc:
        staff.db.rollback()
        return _back(error="invalid", detail=exc.message)
    except (AppealError, CaseClosed, NotAllowed):
        staff.db.rollback()
        return _back(error="not_allowed")
    return _back(done=str(outcome))
