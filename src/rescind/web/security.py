"""Security headers on every response, and CSRF tokens for every form.

CSRF is a signed double-submit: a random cookie, and in the form an HMAC of it under the secret
key, so an attacker who can plant a cookie still cannot produce the matching form token.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rescind.config import Settings
from rescind.web.sessions import Signer

CSRF_COOKIE = "rescind_csrf"
CSRF_FIELD = "csrf_token"

# No inline script or style anywhere: everything comes from /static on this origin.
# media-src blob: lets the device hasher (static/hasher.js) play a chosen video from memory.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; media-src blob:; form-action 'self'; "
    "frame-ancestors 'none'; "
    "base-uri 'none'"
)


def secure_cookies(settings: Settings) -> bool:
    """Cookies get `Secure` when the service is reached over https."""
    return settings.public_base_url.startswith("https://")


def api_headers(*, hsts: bool) -> list[tuple[bytes, bytes]]:
    """The headers `SecurityHeaders` adds to a response that is not an HTML page."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        (b"content-security-policy", CSP.encode()),
    ]
    if hsts:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers


class SecurityHeaders:
    """ASGI middleware adding CSP and friends, and `no-store` on every HTML page."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = api_headers(hsts=self.hsts)
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html") and b"cache-control" not in names:
                    # Pages can show case numbers, secrets and contact details.
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = headers + [h for h in extra if h[0] not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Csrf:
    """Issues and checks the double-submit token."""

    def __init__(self, settings: Settings) -> None:
        self._signer = Signer(settings, "csrf")
        self._secure = secure_cookies(settings)

    def token_for(self, request: Request) -> tuple[str, str | None]:
        """(form token, new cookie value or None when the browser already has one)."""
        cookie = request.cookies.get(CSRF_COOKIE)
        if cookie and 20 <= len(cookie) <= 64:
            return self._signer.mac(cookie), None
        cookie = secrets.token_urlsafe(24)
        return self._signer.mac(cookie), cookie

    def set_cookie(self, response: Response, cookie: str | None) -> None:
        """Attach a newly issued cookie to `response`."""
        if cookie:
            response.set_cookie(
                CSRF_COOKIE,
                cookie,
                httponly=True,
                samesite="strict",
                secure=self._secure,
                path="/",
            )

    def valid(self, request: Request, token: str | None) -> bool:
        """True when the form's token matches the browser's cookie."""
        cookie = request.cookies.get(CSRF_COOKIE)
        if not cookie or not token:
            return False
        return hmac.compare_digest(self._signer.mac(cookie), token)
