"""Console sign-in and sign-out, and TOTP enrolment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from rescind.cases import users
from rescind.web.console.deps import StaffDep
from rescind.web.console.session import (
    console_t,
    csrf_ok,
    end_session,
    render,
    write_session,
)
from rescind.web.deps import SessionDep, SettingsDep, services_of
from rescind.web.public.intake_routes import posted_form
from rescind.web.public.pages import client_ip
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


@router.post("/login")
def login(request: Request, form: FormDep, db: SessionDep, settings: SettingsDep) -> Response:
    """Check username, password and (if enrolled) the TOTP code; start a session."""
    t = console_t()
    services = services_of(request.app)
    if not services.csrf.valid(request, _str(form, CSRF_FIELD)):
        return _login_page(request, t.gettext("The form expired. Please sign in again."), 403)
    limits = services.limits
    username = _str(form, "username").strip()[:120]
    if not limits.login_ip.allow(client_ip(request)) or not limits.login_user.allow(username):
        return _login_page(request, t.gettext("Too many attempts. Try again later."), 429)
    result = users.authenticate(
        db, settings, username, _str(form, "password"), _str(form, "code") or None
    )
    if result.user is None:
        message = (
            t.gettext("Enter the current code from your authenticator app.")
            if result.needs_totp
            else t.gettext("Wrong username, password or code.")
        )
        return _login_page(request, message, 401)
    response = RedirectResponse("/console", status_code=303)
    write_session(request, response, result.user)
    return response


@router.post("/logout")
def logout(request: Request, form: FormDep, staff: StaffDep) -> Response:
    """Sign out."""
    response = RedirectResponse("/console/login", status_code=303)
    if csrf_ok(staff.session, form.get(CSRF_FIELD)):
        end_session(response)
    return response


@router.get("/account")
def account(request: Request, staff: StaffDep, settings: SettingsDep) -> Response:
    """Two-step sign-in: start enrolment with a fresh secret kept in the signed session."""
    if staff.user.totp_secret_enc is not None:
        return render(
            request,
            "console/account.html",
            {"enabled": True},
            user=staff.user,
            session=staff.session,
        )
    pending = staff.session.totp_pending or users.new_totp_secret()
    response = render(
        request,
        "console/account.html",
        {"enabled": False, "secret": pending, "uri": users.totp_uri(settings, staff.user, pending)},
        user=staff.user,
        session=staff.session,
    )
    write_session(request, response, staff.user, csrf=staff.session.csrf, totp_pending=pending)
    return response


@router.post("/account/totp")
def enable_totp(
    request: Request, form: FormDep, staff: StaffDep, settings: SettingsDep
) -> Response:
    """Confirm enrolment with a current code from the app."""
    pending = staff.session.totp_pending
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
    response = RedirectResponse("/console/account", status_code=303)
    write_session(request, response, staff.user, csrf=staff.session.csrf)
    return response
