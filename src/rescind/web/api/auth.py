"""Bearer API keys on `/v1`: `Depends(require_scopes("check"))` gives the caller's principal.

Verified keys are cached in the process for a few seconds so `/v1/check` does not hit the
database on every call (`rescind.web.keycache`); a revoked key stops working within seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from rescind.platform.apikeys import ApiPrincipal, authenticate
from rescind.web.deps import services_of
from rescind.web.problems import ProblemError

_BEARER = {"WWW-Authenticate": "Bearer"}


def _bearer_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ProblemError(
            401, "Unauthorized", "send `Authorization: Bearer <key>`", headers=_BEARER
        )
    return key.strip()


def current_principal(request: Request) -> ApiPrincipal:
    """The caller of this request, or 401 problem+json."""
    key = _bearer_key(request)
    services = services_of(request.app)
    cache = services.api_key_cache
    hit, principal = cache.get(key)
    if not hit:
        with services.database.session() as session:
            principal = authenticate(session, key)
        cache.put(key, principal)
    if principal is None:
        raise ProblemError(401, "Unauthorized", "unknown or revoked API key", headers=_BEARER)
    return principal


def require_scopes(*scopes: str) -> Callable[[Request], ApiPrincipal]:
    """A dependency admitting keys that hold every scope in `scopes` (403 otherwise)."""

    def dependency(request: Request) -> ApiPrincipal:
        principal = current_principal(request)
        missing = [s for s in scopes if s not in principal.scopes]
        if missing:
            raise ProblemError(
                403, "Forbidden", f"this key lacks the scope(s): {', '.join(missing)}"
            )
        return principal

    return dependency


CheckCaller = Annotated[ApiPrincipal, Depends(require_scopes("check"))]
ContentCaller = Annotated[ApiPrincipal, Depends(require_scopes("content"))]
RequestsWriteCaller = Annotated[ApiPrincipal, Depends(require_scopes("requests:write"))]
RequestsReadCaller = Annotated[ApiPrincipal, Depends(require_scopes("requests:read"))]
ReviewCaller = Annotated[ApiPrincipal, Depends(require_scopes("review"))]
ExchangeCaller = Annotated[ApiPrincipal, Depends(require_scopes("exchange"))]
