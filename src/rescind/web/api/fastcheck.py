"""The hot path of `POST /v1/check` (JSON hashes), served beside the framework.

Every upload on a platform goes through `/v1/check`, so its common case is answered here, in
the event loop, without the router, dependency injection, a thread-pool hop per step or a
thread parked while the registry write commits: the key comes from the verified-key cache,
the body is validated by the route's own model (`CheckIn`), the matcher runs in place, and the
answer waits on the group commit's future.

Only the happy path is handled. Anything else (multipart media, a key not in the cache, a
missing scope, a body the model rejects, a body over the limit, a stale matcher) is handed,
with the bytes already read, to the FastAPI route, so errors and edge cases have one
implementation and one contract.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rescind.platform.check import prepare_check
from rescind.platform.errors import PlatformError
from rescind.web.api.common import JSON_BODY_LIMIT, content_item
from rescind.web.api.schemas import CheckIn
from rescind.web.deps import AppServices
from rescind.web.security import api_headers

PATH = "/v1/check"
_WRITE_TIMEOUT_S = 30.0


class FastCheck:
    """ASGI middleware answering the common `/v1/check` request itself.

    It wraps the app's whole middleware stack (see `RescindApp`), so its answers carry the
    security headers themselves (`api_headers`). It holds the app's key cache, runtime and
    metrics itself, so a check looks nothing up on the app."""

    def __init__(
        self, app: ASGIApp, services: AppServices, *, body_limit: int = JSON_BODY_LIMIT
    ) -> None:
        self.app = app
        self.body_limit = body_limit
        self.cache = services.api_key_cache
        self.runtime = services.runtime
        self.metrics = services.metrics
        hsts = services.settings.public_base_url.startswith("https://")
        self.headers = [(b"content-type", b"application/json"), *api_headers(hsts=hsts)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = _json_bearer(scope["headers"], self.body_limit)
        if key is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        body, more = await _read(receive, self.body_limit)
        answer = None if more else await self._answer(key, body)
        if answer is None:
            await self.app(scope, _replay(body, more, receive), send)
            return
        status, payload, verdict = answer
        headers = [*self.headers, (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        self.metrics.observe_check(verdict, time.perf_counter() - started, fast=True)

    async def _answer(self, key: str, body: bytes) -> tuple[int, bytes, str] | None:
        hit, principal = self.cache.get(key)
        if not hit or principal is None or "check" not in principal.scopes:
            return None
        runtime = self.runtime
        if not runtime.fresh():
            return None
        try:
            item = content_item(CheckIn.model_validate_json(body))
        except (ValidationError, PlatformError, ValueError):
            return None
        if item.signals.empty:
            return None
        result, pending = prepare_check(
            runtime.matcher, item.content_id, url=item.url, signals=item.signals
        )
        loop = asyncio.get_running_loop()
        waiter = runtime.writer.submit_async(pending)
        expiry = loop.call_later(_WRITE_TIMEOUT_S, waiter.cancel)
        try:
            await waiter
        except asyncio.CancelledError:
            if loop.time() < expiry.when():
                raise  # this request itself was cancelled
            return None  # not committed in time: the route takes over
        except Exception:
            return None  # the write failed: the route tries again and reports its own error
        finally:
            expiry.cancel()
        out: dict[str, Any] = {
            "content_id": result.content_id,
            "verdict": result.verdict,
            "matches": [
                {"bank": m.bank, "case_number": m.case_number}
                if m.case_number is not None
                else {"bank": m.bank}
                for m in result.matches
            ],
        }
        payload = json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode()
        return 200, payload, result.verdict


def _json_bearer(headers: list[tuple[bytes, bytes]], limit: int) -> str | None:
    """The bearer key of a JSON request within `limit` bytes, else None (not ours to take)."""
    key: str | None = None
    json_body = False
    for name, value in headers:
        if name == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and rest.strip():
                key = rest.strip()
        elif name == b"content-type":
            json_body = value.split(b";", 1)[0].strip().lower() == b"application/json"
        elif name == b"content-length":
            if not (value.isascii() and value.isdigit()) or int(value) > limit:
                return None
        elif name == b"transfer-encoding":
            return None
    return key if json_body else None


async def _read(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The body up to `limit` bytes, and whether more is still to come."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more and size <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks), more or size > limit


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """A `receive` giving the bytes already read first, then the rest of the request."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay
