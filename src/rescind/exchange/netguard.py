"""Which partner URLs we contact: http(s) only, and never an address inside our own network
unless the operator allows it (`RESCIND_EXCHANGE_ALLOW_PRIVATE`, for private deployments and
tests). Link-local addresses, where cloud metadata services live, are refused always.

The check resolves the host and looks at every address it has; redirects are never followed,
so the only hosts contacted are the configured ones.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from rescind.exchange.errors import FeedRefusedError, UnsafeUrlError
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


def fetch_page(
    client: httpx.Client,
    url: str,
    *,
    who: str,
    params: Mapping[str, Any],
    headers: Mapping[str, str],
    max_bytes: int,
    timeout_s: float,
) -> tuple[bytes, httpx.Headers]:
    """GET one page from an outside source (`who` names it in errors): its body and headers.

    The whole page must arrive with a 200 within `timeout_s` and `max_bytes`, so a source that
    answers garbage, slowly or endlessly costs a bounded wait and memory. Raises
    FeedRefusedError saying which.
    """
    deadline = time.monotonic() + timeout_s
    try:
        with client.stream("GET", url, params=params, headers=headers) as response:
            if response.status_code != 200:
                refused = FeedRefusedError(f"{who} answered HTTP {response.status_code}")
                refused.http_status = response.status_code
                raise refused
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FeedRefusedError(f"a page over {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise FeedRefusedError(f"{who} is too slow (timeout)")
                chunks.append(chunk)
            return b"".join(chunks), response.headers
    except httpx.TimeoutException:
        raise FeedRefusedError(f"{who} did not answer in time (timeout)") from None
    except httpx.HTTPError as exc:
        raise FeedRefusedError(f"cannot reach {who} ({type(exc).__name__})") from None
