"""Security headers (and `Secure` cookies over https) on every response, and CSRF tokens for
every form.

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
from rescind.web.forwarded import secure_cookie
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


def api_headers(*, hsts: bool, no_store: bool = True) -> list[tuple[bytes, bytes]]:
    """The headers `SecurityHeaders` adds to a response (unless it set them itself).

    `no-store` on everything but static files: API answers carry verdicts, case numbers, keys'
    names; pages carry secrets and contact details. No cache, shared or private, keeps them."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        (b"content-security-policy", CSP.encode()),
    ]
    if no_store:
        headers.append((b"cache-control", b"no-store"))
    if hsts:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers


def _secure(header: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    name, value = header
    if name.lower() != b"set-cookie" or b"; secure" in value.lower():
        return header
    return name, value + b"; Secure"


class SecurityHeaders:
    """ASGI middleware adding CSP and friends, `no-store` on everything but static files, and
    `Secure` on every cookie when the site is https (by setting, or this request came over it)."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.hsts = settings.public_base_url.startswith("https://")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = not str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                # Worked out only for answers that set a cookie (not for API answers).
                if any(name.lower() == b"set-cookie" for name, _ in headers) and secure_cookie(
                    Request(scope), self.settings
                ):
                    headers = [_secure(h) for h in headers]
                names = {k.lower() for k, _ in headers}
                extra = api_headers(hsts=self.hsts, no_store=no_store)
                message["headers"] = headers + [h for h in extra if h[0] not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Csrf:
    """Issues and checks the double-submit token."""

    def __init__(self, settings: Settings) -> None:
        self._signer = Signer(settings, "csrf")

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
                path="/",
            )

    def valid(self, request: Request, token: str | None) -> bool:
        """True when the form's token matches the browser's cookie."""
        cookie = request.cookies.get(CSRF_COOKIE)
        if not cookie or not token:
            return False
        return hmac.compare_digest(self._signer.mac(cookie), token)
