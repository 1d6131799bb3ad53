"""Which partner URLs we contact: http(s) only, and never an address inside our own network
unless the operator allows it (`RESCIND_EXCHANGE_ALLOW_PRIVATE`, for private deployments and
tests). Link-local addresses, where cloud metadata services live, are refused always.

The check resolves the host and looks at every address it has; redirects are never followed,
so the only hosts contacted are the configured ones.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from rescind.exchange.errors import UnsafeUrlError
from rescind.security.addresses import UnsafeAddress, check_http_url

_SETTING = "RESCIND_EXCHANGE_ALLOW_PRIVATE"


def check_partner_url(url: str, *, allow_private: bool, resolve: bool = True) -> str:
    """`url` normalised (no trailing slash), or UnsafeUrlError saying why we refuse it."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise UnsafeUrlError("a partner URL is http(s)://host[:port][/path]", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrlError("a partner URL is http(s)://host[:port][/path]", field="url")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UnsafeUrlError("a partner URL carries no credentials, query or fragment", field="url")
    try:
        check_http_url(url, allow_private=allow_private, setting=_SETTING, resolve=resolve)
    except UnsafeAddress as exc:
        why = str(exc).replace("the host", "the partner's host")
        raise UnsafeUrlError(why, field="url") from None
    return url.strip().rstrip("/")
