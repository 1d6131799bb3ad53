"""Console sign-in state. The `rescind_console` cookie (HttpOnly, SameSite=Strict, `Secure`
over https) carries only a random id; the sign-in itself is a `console_sessions` row
(`rescind.cases.staff_sessions`) with its CSRF token, so signing out, a password change or a
disabled account ends it for every copy of the cookie.

A second cookie, `rescind_known` (signed, the user id only, on /console/login), marks a browser
that signed in to an account before: it is not slowed down when others fail to sign in to that
account (`rescind.cases.users.authenticate`)."""

from __future__ import annotations

import gettext
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from rescind.cases import staff_sessions
from rescind.locale import translations
from rescind.store.models import StaffSession, User
from rescind.web.deps import services_of
from rescind.web.templating import page_context

SESSION_COOKIE = "rescind_console"
KNOWN_COOKIE = "rescind_known"
KNOWN_S = 180 * 86400


class LoginRequired(Exception):
    """No valid console session: the handler redirects to the sign-in page."""


@dataclass(frozen=True)
class ConsoleSession:
    """The request's sign-in (its server-side record)."""

    record: StaffSession

    @property
    def csrf(self) -> str:
        """The sign-in's CSRF token, posted back by every console form."""
        return self.record.csrf


def session_token(request: Request) -> str | None:
    """The random id in the request's cookie."""
    return request.cookies.get(SESSION_COOKIE)


def start_session(request: Request, response: Response, started: staff_sessions.Started) -> None:
    """Give the browser the new sign-in's id, and mark it as known for the account."""
    settings = services_of(request.app).settings
    response.set_cookie(
        SESSION_COOKIE,
        started.token,
        max_age=int(settings.console_session_hours * 3600),
        httponly=True,
        samesite="strict",
        path="/console",
    )
    response.set_cookie(
        KNOWN_COOKIE,
        services_of(request.app).console_signer.dumps(
            {"uid": started.record.user_id, "n": secrets.token_urlsafe(12)}, KNOWN_S
        ),
        max_age=KNOWN_S,
        httponly=True,
        samesite="strict",
        path="/console/login",
    )


def known_user(request: Request) -> int | None:
    """The account this browser signed in to before, if any."""
    data = services_of(request.app).console_signer.loads(request.cookies.get(KNOWN_COOKIE))
    uid = data.get("uid") if data else None
    return uid if isinstance(uid, int) else None


def end_session(response: Response) -> None:
    """Drop the sign-in cookie (the record is revoked by the caller)."""
    response.delete_cookie(SESSION_COOKIE, path="/console", httponly=True, samesite="strict")


def csrf_ok(session: ConsoleSession, token: object) -> bool:
    """The posted token matches the session's."""
    return isinstance(token, str) and hmac.compare_digest(session.csrf, token)


def console_t() -> gettext.NullTranslations:
    """The console's catalogue (English for now)."""
    return translations("en", "console")


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    user: User | None = None,
    session: ConsoleSession | None = None,
    status_code: int = 200,
) -> Response:
    """Render a console template with the common context."""
    services = services_of(request.app)
    full = {
        **page_context("en", "console"),
        "user": user,
        "csrf_token": session.csrf if session else "",
        "platform_name": services.settings.platform_name,
        "email_enabled": bool(services.settings.smtp_host),
        **context,
    }
    response: Response = services.templates.TemplateResponse(
        request, name, full, status_code=status_code
    )
    return response
