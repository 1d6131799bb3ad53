"""`/status`: a requester signs in with case number + secret, sees the case in plain words,
adds information or withdraws. A short signed cookie (path /status) keeps them signed in."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import object_session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from rescind.cases import appeals, requester
from rescind.cases.errors import CaseClosed, CaseNotFound, FieldError, InvalidRequest
from rescind.cases.progress import ItemState, item_progress
from rescind.cases.reasons import reason_text, reply_text
from rescind.store.models import Request as Case
from rescind.store.statuses import RequestStatus
from rescind.web.deps import DatabaseDep, SettingsDep, services_of
from rescind.web.forwarded import client_key
from rescind.web.public.forms import error_message
from rescind.web.public.history import ITEM_TEXT, item_lines, public_history, status_text
from rescind.web.public.intake_routes import FormDep, PageDep
from rescind.web.public.pages import Page
from rescind.web.security import CSRF_FIELD
from rescind.web.sessions import Signer

router = APIRouter(include_in_schema=False)
CASE_COOKIE = "rescind_case"
CASE_SESSION_S = 30 * 60
SESSION_VERSION = 2


def _signer(request: Request) -> Signer:
    return services_of(request.app).case_signer


def _csrf_ok(p: Page, form: FormData) -> bool:
    token = form.get(CSRF_FIELD)
    return services_of(p.request.app).csrf.valid(
        p.request, token if isinstance(token, str) else None
    )


def _signed_in_handle(request: Request) -> str | None:
    """The handle of the signed-in case. Sessions name a case by its random handle: an
    old-format session (a row id), or one signed with any other key, is refused."""
    payload = _signer(request).loads(request.cookies.get(CASE_COOKIE))
    if not payload or payload.get("v") != SESSION_VERSION:
        return None
    handle = payload.get("case")
    return handle if isinstance(handle, str) else None


def _lookup_page(p: Page, error: str | None = None, status_code: int = 200) -> Response:
    return p.render("public/status_lookup.html", {"error": error}, status_code=status_code)


def _case_page(p: Page, case: Case, context: dict[str, Any] | None = None) -> Response:
    last = case.decisions[-1] if case.decisions else None
    session = object_session(case)
    settings = services_of(p.request.app).settings
    rejection = appeals.rejection_of(case)
    can_appeal = session is not None and appeals.can_appeal_rejection(session, settings, case)
    items = item_lines(p.t, item_progress(session, case)) if session is not None else []
    status = status_text(p.t, case.status)
    if case.status == RequestStatus.REMOVED and not any(
        i.state == ItemState.REMOVED for i in items
    ):
        # Nothing stays removed: put back after a review, or handled by other means.
        restored = any(i.state == ItemState.RESTORED for i in items)
        shown = ItemState.RESTORED if restored else ItemState.HANDLED_OUTSIDE
        status = p.t.gettext(ITEM_TEXT[shown])
    return p.render(
        "public/status.html",
        {
            "case": case,
            "history": public_history(p.t, case),
            "items": items,
            "status_text": status,
            "done": p.request.query_params.get("done"),
            "reason": reason_text(p.t, last.reason_code if last else None),
            "last_reply": reply_text(p.t, last.reply_code if last else None),
            "last_message": last.message_to_requester if last else None,
            "is_open": case.status in requester.ACCEPTS_INFORMATION,
            "can_appeal": can_appeal,
            "item_appeals": [
                {"number": number, "label": item.url, "until": until}
                for number, item, until in appeals.appealable_items(session, settings, case)
            ]
            if session is not None
            else [],
            "appeal_until": rejection.at + timedelta(days=settings.appeal_window_days)
            if rejection is not None
            else None,
            **(context or {}),
        },
    )


@router.get("/status")
def status_page(p: PageDep, db: DatabaseDep) -> Response:
    """The signed-in case, or the lookup form."""
    handle = _signed_in_handle(p.request)
    if handle is not None:
        with db.session() as session:
            try:
                case = requester.get_case(session, handle)
                return _case_page(p, case)
            except CaseNotFound:
                pass
    return _lookup_page(p)


@router.post("/status")
def status_lookup(p: PageDep, form: FormDep, db: DatabaseDep, settings: SettingsDep) -> Response:
    """Check case number + secret. Unknown case and wrong secret get the same answer."""
    if not _csrf_ok(p, form):
        return _lookup_page(p, error_message(p.t, FieldError("csrf", "csrf")), 403)
    limits = services_of(p.request.app).limits
    address = client_key(p.request, settings)
    if not limits.lookup_ip.allow(address) or not limits.lookup_all.allow("*"):
        return p.render("public/busy.html", {}, status_code=429)
    number, secret = form.get("case_number"), form.get("secret")
    with db.session() as session:
        try:
            case = requester.open_case(
                session,
                number if isinstance(number, str) else "",
                secret if isinstance(secret, str) else "",
            )
        except CaseNotFound:
            return _lookup_page(
                p,
                p.t.gettext(
                    "We could not find a case with this number and "
                    "secret. Check both and try again."
                ),
                404,
            )
        response = _case_page(p, case)
    response.set_cookie(
        CASE_COOKIE,
        _signer(p.request).dumps({"v": SESSION_VERSION, "case": case.handle}, CASE_SESSION_S),
        max_age=CASE_SESSION_S,
        httponly=True,
        samesite="strict",
        path="/status",
    )
    return response


def _signed_in_or_lookup(p: Page, form: FormData) -> str | Response:
    if not _csrf_ok(p, form):
        return _lookup_page(p, error_message(p.t, FieldError("csrf", "csrf")), 403)
    handle = _signed_in_handle(p.request)
    if handle is None:
        return _lookup_page(
            p, p.t.gettext("Your session ended. Enter your case number and secret again."), 401
        )
    return handle


@router.post("/status/info")
def add_information(p: PageDep, form: FormDep, db: DatabaseDep) -> Response:
    """Add information to the case."""
    handle = _signed_in_or_lookup(p, form)
    if isinstance(handle, Response):
        return handle
    text = form.get("information")
    with db.session() as session:
        case = requester.get_case(session, handle)
        try:
            requester.add_information(session, case, text if isinstance(text, str) else None)
        except InvalidRequest as exc:
            session.rollback()
            case = requester.get_case(session, handle)
            return _case_page(
                p, case, {"info_error": error_message(p.t, exc.errors[0]), "information": text}
            )
        except CaseClosed:
            session.rollback()
            case = requester.get_case(session, handle)
            return _case_page(p, case)
    return RedirectResponse("/status?done=info", status_code=303)


@router.post("/status/appeal")
def appeal(p: PageDep, form: FormDep, db: DatabaseDep, settings: SettingsDep) -> Response:
    """Ask for another review of a rejected request (DSA Art. 20), with a statement."""
    handle = _signed_in_or_lookup(p, form)
    if isinstance(handle, Response):
        return handle
    text = form.get("statement")
    with db.session() as session:
        try:
            case = requester.get_case(session, handle)
        except CaseNotFound:
            return _lookup_page(p)
        try:
            appeals.file_rejection_appeal(
                session, settings, case, text if isinstance(text, str) else None
            )
        except appeals.AppealWindowClosed:
            # A form left open past the window: the case as it is now, no form to appeal (the
            # item route's answer), never a request to say more.
            session.rollback()
            return _case_page(p, requester.get_case(session, handle))
        except appeals.AppealError:
            session.rollback()
            case = requester.get_case(session, handle)
            message = p.t.gettext(
                "Tell us in a few words why we should look again (at most 5000 characters)."
            )
            return _case_page(p, case, {"appeal_error": message, "statement": text})
        except CaseClosed:
            session.rollback()
            case = requester.get_case(session, handle)
            return _case_page(p, case)
    return RedirectResponse("/status?done=appeal", status_code=303)


@router.post("/status/appeal-item")
def appeal_item(p: PageDep, form: FormDep, db: DatabaseDep, settings: SettingsDep) -> Response:
    """Ask for another review of one item we did not remove, in a partly removed case (DSA
    Art. 20), with a statement."""
    handle = _signed_in_or_lookup(p, form)
    if isinstance(handle, Response):
        return handle
    text, picked = form.get("statement"), form.get("item")
    number = int(picked) if isinstance(picked, str) and picked.isdigit() else 0
    with db.session() as session:
        try:
            case = requester.get_case(session, handle)
        except CaseNotFound:
            return _lookup_page(p)
        try:
            appeals.file_item_appeal(
                session, settings, case, number, text if isinstance(text, str) else None
            )
        except appeals.AppealWindowClosed:
            session.rollback()
            return _case_page(p, requester.get_case(session, handle))
        except appeals.AppealError:
            session.rollback()
            case = requester.get_case(session, handle)
            message = p.t.gettext(
                "Tell us in a few words why we should look again (at most 5000 characters)."
            )
            context = {"item_appeal_error": message, "item_statement": text, "picked": number}
            return _case_page(p, case, context)
        except CaseClosed:
            session.rollback()
            return _case_page(p, requester.get_case(session, handle))
    return RedirectResponse("/status?done=item_appeal", status_code=303)


@router.post("/status/withdraw")
def withdraw(p: PageDep, form: FormDep, db: DatabaseDep, settings: SettingsDep) -> Response:
    """Withdraw the request. The first press shows what withdrawing does, in plain words, and
    asks to confirm; only the confirmation (`confirm=yes`) withdraws."""
    handle = _signed_in_or_lookup(p, form)
    if isinstance(handle, Response):
        return handle
    with db.session() as session:
        try:
            case = requester.get_case(session, handle)
        except CaseNotFound:
            return _lookup_page(p)
        if form.get("confirm") != "yes":
            return _case_page(p, case, {"confirm_withdraw": True})
        with contextlib.suppress(CaseClosed):
            requester.withdraw(
                session, settings, case, on_withdraw=services_of(p.request.app).on_withdraw
            )
    return RedirectResponse("/status?done=withdrawn", status_code=303)


@router.post("/status/signout")
def sign_out(p: PageDep, form: FormDep) -> Response:
    """Forget the status-page session on this device."""
    response = RedirectResponse("/status", status_code=303)
    if _csrf_ok(p, form):
        response.delete_cookie(CASE_COOKIE, path="/status")
    return response
