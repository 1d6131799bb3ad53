"""Python client for a platform integrating Rescind, and the webhook receiver helper.

    from rescind.client import RescindClient, verify_signature
    with RescindClient("https://rescind.example", api_key) as rescind:
        verdict = rescind.check("upload-1", pdq=[pdq_hex])["verdict"]

`AsyncRescindClient` has the same methods as coroutines. Only `httpx` is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from rescind.client.webhooks import (
    SIGNATURE_HEADER,
    WebhookVerificationError,
    parse_webhook,
    verify_signature,
)

__all__ = [
    "SIGNATURE_HEADER",
    "AsyncRescindClient",
    "RescindClient",
    "RescindError",
    "WebhookVerificationError",
    "parse_webhook",
    "verify_signature",
]


class RescindError(Exception):
    """The API answered with an error (problem+json): status, title, detail, field errors."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.title = str(body.get("title", "error"))
        self.detail = body.get("detail")
        self.errors: list[dict[str, str]] = list(body.get("errors") or [])
        super().__init__(f"{status} {self.title}: {self.detail or ''}".strip())


def _signals(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class _Calls:
    """What each method sends: (method, path, keyword arguments for httpx)."""

    @staticmethod
    def check(content_id: str, url: str | None, **signals: Any) -> tuple[str, str, dict[str, Any]]:
        return "POST", "/v1/check", {"json": _signals(content_id=content_id, url=url, **signals)}

    @staticmethod
    def check_media(
        content_id: str, media: bytes | str | Path, url: str | None, filename: str
    ) -> tuple[str, str, dict[str, Any]]:
        data = media if isinstance(media, bytes) else Path(media).read_bytes()
        form = _signals(content_id=content_id, url=url)
        return "POST", "/v1/check", {"data": form, "files": {"media": (filename, data)}}


def _result(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = {"title": response.reason_phrase}
        raise RescindError(response.status_code, body if isinstance(body, dict) else {})
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


class RescindClient:
    """Synchronous client of the `/v1` API."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return _result(self._http.request(method, path, **kwargs))

    def check(
        self,
        content_id: str,
        *,
        url: str | None = None,
        pdq: Sequence[str | dict[str, Any]] | None = None,
        md5: str | None = None,
        sha256: str | None = None,
        video_pdq: Sequence[str | dict[str, Any]] | None = None,
        vpdq: str | None = None,
    ) -> dict[str, Any]:
        """Check an upload by its hashes: `{"content_id", "verdict", "matches"}`.

        A video's frames go as `video_pdq` entries or as `vpdq`, the text Meta's vPDQ
        writes (`frame,quality,hash,timestamp` lines)."""
        m, p, kw = _Calls.check(
            content_id, url, pdq=pdq, md5=md5, sha256=sha256, video_pdq=video_pdq, vpdq=vpdq
        )
        result: dict[str, Any] = self._call(m, p, **kw)
        return result

    def check_media(
        self,
        content_id: str,
        media: bytes | str | Path,
        *,
        url: str | None = None,
        filename: str = "upload",
    ) -> dict[str, Any]:
        """Check an upload by sending the file; Rescind hashes it."""
        m, p, kw = _Calls.check_media(content_id, media, url, filename)
        result: dict[str, Any] = self._call(m, p, **kw)
        return result

    def register(self, items: Sequence[dict[str, Any]]) -> int:
        """Register content in bulk (up to 1,000 items: `{"content_id", "url"?, hashes...}`)."""
        return int(self._call("POST", "/v1/content", json={"items": list(items)})["registered"])

    def forget(self, content_id: str) -> None:
        """Tell Rescind the content was deleted on the platform."""
        self._call("DELETE", f"/v1/content/{content_id}")

    def actions(
        self, *, status: str | None = None, after_id: int = 0, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Actions in id order (poll `status="pending"` without webhooks)."""
        params = _signals(status=status, after_id=after_id, limit=limit)
        result: list[dict[str, Any]] = self._call("GET", "/v1/actions", params=params)
        return result

    def mark_done(
        self, action_id: int, outcome: str = "removed", note: str | None = None
    ) -> dict[str, Any]:
        """Confirm what the platform did with an action: `removed`, `not_found`, `not_ours` or
        `refused` (with an optional note)."""
        body = {"outcome": outcome, **({"note": note} if note else {})}
        result: dict[str, Any] = self._call("POST", f"/v1/actions/{action_id}/done", json=body)
        return result

    def create_request(self, body: dict[str, Any]) -> dict[str, Any]:
        """File a removal request (`requests:write`)."""
        result: dict[str, Any] = self._call("POST", "/v1/requests", json=body)
        return result

    def get_request(self, case_number: str) -> dict[str, Any]:
        """A request's status, items, decisions, copies and actions (`requests:read`)."""
        result: dict[str, Any] = self._call("GET", f"/v1/requests/{case_number}")
        return result

    def decide(self, case_number: str, outcome: str, reason: str) -> dict[str, Any]:
        """Decide a request: remove, reject or need_info (`review`)."""
        body = {"outcome": outcome, "reason": reason}
        result: dict[str, Any] = self._call(
            "POST", f"/v1/requests/{case_number}/decision", json=body
        )
        return result

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> RescindClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class AsyncRescindClient:
    """Asynchronous client of the `/v1` API (the same methods, awaited)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return _result(await self._http.request(method, path, **kwargs))

    async def check(
        self,
        content_id: str,
        *,
        url: str | None = None,
        pdq: Sequence[str | dict[str, Any]] | None = None,
        md5: str | None = None,
        sha256: str | None = None,
        video_pdq: Sequence[str | dict[str, Any]] | None = None,
        vpdq: str | None = None,
    ) -> dict[str, Any]:
        """Check an upload by its hashes (see `Client.check`)."""
        m, p, kw = _Calls.check(
            content_id, url, pdq=pdq, md5=md5, sha256=sha256, video_pdq=video_pdq, vpdq=vpdq
        )
        result: dict[str, Any] = await self._call(m, p, **kw)
        return result

    async def check_media(
        self,
        content_id: str,
        media: bytes | str | Path,
        *,
        url: str | None = None,
        filename: str = "upload",
    ) -> dict[str, Any]:
        """Check an upload by sending the file."""
        m, p, kw = _Calls.check_media(content_id, media, url, filename)
        result: dict[str, Any] = await self._call(m, p, **kw)
        return result

    async def register(self, items: Sequence[dict[str, Any]]) -> int:
        """Register content in bulk."""
        body = await self._call("POST", "/v1/content", json={"items": list(items)})
        return int(body["registered"])

    async def forget(self, content_id: str) -> None:
        """Tell Rescind the content was deleted on the platform."""
        await self._call("DELETE", f"/v1/content/{content_id}")

    async def actions(
        self, *, status: str | None = None, after_id: int = 0, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Actions in id order."""
        params = _signals(status=status, after_id=after_id, limit=limit)
        result: list[dict[str, Any]] = await self._call("GET", "/v1/actions", params=params)
        return result

    async def mark_done(
        self, action_id: int, outcome: str = "removed", note: str | None = None
    ) -> dict[str, Any]:
        """Confirm what the platform did with an action (see `RescindClient.mark_done`)."""
        body = {"outcome": outcome, **({"note": note} if note else {})}
        result: dict[str, Any] = await self._call(
            "POST", f"/v1/actions/{action_id}/done", json=body
        )
        return result

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncRescindClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()
