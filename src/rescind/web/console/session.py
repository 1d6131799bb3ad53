"""Console sign-in state: a signed, HttpOnly, SameSite=Strict cookie carrying the user id, a
session-bound CSRF token and a fingerprint of the password hash; the user row is re-read on every
request, so disabling a user or changing their password ends their sessions at once."""

from __future__ import annotations

import gettext
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from rescind.locale import translations
from rescind.store.models import User
from rescind.web.deps import services_of
from rescind.web.security import secure_cookies
from rescind.web.sessions import Signer
from rescind.web.templating import page_context

SESSION_COOKIE = "rescind_console"


class LoginRequired(Exception):
    """No valid console session: the handler redirects to the sign-in page."""


@dataclass(frozen=True)
class ConsoleSession:
    """The signed-in user, their CSRF token and a fingerprint of their password hash."""

    user_id: int
    csrf: str
    credential: str
    totp_pending: str | None = None

    def matches(self, user: User) -> bool:
        """False once the user's password changed: every older session ends."""
        return hmac.compare_digest(self.credential, credential_fingerprint(user))


def credential_fingerprint(user: User) -> str:
    """A short digest of the password hash (changes with the password, reveals nothing)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _signer(request: Request) -> Signer:
    return services_of(request.app).console_signer


def read_session(request: Request) -> ConsoleSession | None:
    """The session in the request's cookie, if valid."""
    data = _signer(request).loads(request.cookies.get(SESSION_COOKIE))
    if (
        not data
        or not isinstance(data.get("uid"), int)
        or not isinstance(data.get("csrf"), str)
        or not isinstance(data.get("cred"), str)
    ):
        return None
    pending = data.get("totp")
    return ConsoleSession(
        data["uid"], data["csrf"], data["cred"], pending if isinstance(pending, str) else None
    )


def write_session(
    request: Request,
    response: Response,
    user: User,
    *,
    csrf: str | None = None,
    totp_pending: str | None = None,
) -> None:
    """Start (or update) the console session."""
    settings = services_of(request.app).settings
    max_age = settings.console_session_hours * 3600
    payload: dict[str, Any] = {
        "uid": user.id,
        "csrf": csrf or secrets.token_urlsafe(24),
        "cred": credential_fingerprint(user),
    }
    if totp_pending:
        payload["totp"] = totp_pending
    response.set_cookie(
        SESSION_COOKIE,
        _signer(request).dumps(payload, max_age),
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(settings),
        path="/console",
    )


def end_session(response: Response) -> None:
    """Sign out."""
    response.delete_cookie(SESSION_COOKIE, path="/console")


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
