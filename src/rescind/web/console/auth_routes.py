"""Console sign-in and sign-out, and TOTP enrolment."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from rescind.cases import staff_sessions, users
from rescind.web.console.deps import StaffDep
from rescind.web.console.session import (
    console_t,
    csrf_ok,
    end_session,
    known_user,
    render,
    start_session,
)
from rescind.web.deps import SessionDep, SettingsDep, services_of
from rescind.web.forwarded import client_key
from rescind.web.public.intake_routes import posted_form
from rescind.web.security import CSRF_FIELD

router = APIRouter(prefix="/console", include_in_schema=False)
FormDep = Annotated[FormData, Depends(posted_form)]


def _str(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _login_page(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    csrf = services_of(request.app).csrf
    token, cookie = csrf.token_for(request)
    response = render(
        request,
        "console/login.html",
        {"error": error, "login_csrf": token},
        status_code=status_code,
    )
    csrf.set_cookie(response, cookie)
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    """The sign-in form."""
    return _login_page(request)


def _wait_text(wait_s: float) -> str:
    t = console_t()
    seconds = max(1, math.ceil(wait_s))
    return t.ngettext(
        "Too many failed sign-ins to this account. Try again in %(n)d second, or from a "
        "browser you signed in with before.",
        "Too many failed sign-ins to this account. Try again in %(n)d seconds, or from a "
        "browser you signed in with before.",
        seconds,
    ) % {"n": seconds}


@router.post("/login")
def login(request: Request, form: FormDep, db: SessionDep, settings: SettingsDep) -> Response:
    """Check username, password and (if enrolled) the TOTP code; start a session.

    Limits: attempts per address, failures per (account, address), and the account's own
    slow-down after failures in a row, which a browser that signed in before, or a right
    password with a right TOTP code, passes (docs/security-model.md)."""
    t = console_t()
    services = services_of(request.app)
    if not services.csrf.valid(request, _str(form, CSRF_FIELD)):
        return _login_page(request, t.gettext("The form expired. Please sign in again."), 403)
    limits = services.limits
    username = _str(form, "username").strip()[:120]
    known = known_user(request)
    # A known browser is counted by itself, wherever it is (a colleague failing behind the
    # same office address does not use up its budget); anyone else by address.
    origin = f"known:{known}" if known is not None else client_key(request, settings)
    pair = f"{username.casefold()}|{origin}"
    if not limits.login_ip.allow(origin) or not limits.login_pair.has_token(pair):
        return _login_page(request, t.gettext("Too many attempts. Try again later."), 429)
    result = users.authenticate(
        db,
        settings,
        username,
        _str(form, "password"),
        _str(form, "code") or None,
        known_user_id=known,
    )
    if result.wait_s:
        return _login_page(request, _wait_text(result.wait_s), 429)
    if result.user is None:
        limits.login_pair.allow(pair)
        message = (
            t.gettext("Enter the current code from your authenticator app.")
            if result.needs_totp
            else t.gettext("Wrong username, password or code.")
        )
        return _login_page(request, message, 401)
    response = RedirectResponse("/console", status_code=303)
    start_session(request, response, staff_sessions.start(db, settings, result.user))
    return response


@router.post("/logout")
def logout(request: Request, form: FormDep, staff: StaffDep) -> Response:
    """Sign out: the sign-in ends on the server, so a copy of the cookie is worth nothing."""
    response = RedirectResponse("/console/login", status_code=303)
    if csrf_ok(staff.session, form.get(CSRF_FIELD)):
        staff_sessions.revoke(staff.db, staff.session.record)
        end_session(response)
    return response


@router.get("/account")
def account(request: Request, staff: StaffDep, settings: SettingsDep) -> Response:
    """Two-step sign-in: start enrolment with a fresh secret kept on the server (sealed, in the
    sign-in's record), never in a cookie. Showing this page does not extend the sign-in."""
    if staff.user.totp_secret_enc is not None:
        return render(
            request,
            "console/account.html",
            {"enabled": True},
            user=staff.user,
            session=staff.session,
        )
    record = staff.session.record
    pending = staff_sessions.pending_totp(settings, record)
    if pending is None:
        pending = users.new_totp_secret()
        staff_sessions.set_pending_totp(settings, record, pending)
    return render(
        request,
        "console/account.html",
        {"enabled": False, "secret": pending, "uri": users.totp_uri(settings, staff.user, pending)},
        user=staff.user,
        session=staff.session,
    )


@router.post("/account/totp")
def enable_totp(
    request: Request, form: FormDep, staff: StaffDep, settings: SettingsDep
) -> Response:
    """Confirm enrolment with a current code from the app."""
    record = staff.session.record
    pending = staff_sessions.pending_totp(settings, record)
    if not csrf_ok(staff.session, form.get(CSRF_FIELD)) or not pending:
        return RedirectResponse("/console/account", status_code=303)
    if not users.enable_totp(staff.db, settings, staff.user, pending, _str(form, "code")):
        return render(
            request,
            "console/account.html",
            {
                "enabled": False,
                "secret": pending,
                "uri": users.totp_uri(settings, staff.user, pending),
                "error": console_t().gettext("That code is not valid. Try the current one."),
            },
            user=staff.user,
            session=staff.session,
            status_code=422,
        )
    staff_sessions.set_pending_totp(settings, record, None)
    return RedirectResponse("/console/account", status_code=303)
