"""`POST /v1/check`: judge an upload (its hashes, or the media itself) against the banks."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from rescind.platform.check import CheckResult, check_and_record
from rescind.platform.errors import InvalidSignalError, PlatformError
from rescind.platform.media_signals import MediaError
from rescind.platform.registry import check_content_id, check_url
from rescind.platform.runtime import PlatformRuntime
from rescind.platform.signals import Signals
from rescind.web.api.auth import CheckCaller
from rescind.web.api.common import (
    JSON_BODY_LIMIT,
    content_item,
    is_multipart,
    media_problem,
    problem,
    read_json,
    read_media_form,
)
from rescind.web.api.openapi import api_doc, media_form, schema_ref
from rescind.web.api.schemas import CheckIn, CheckOut
from rescind.web.deps import services_of

router = APIRouter(prefix="/v1", tags=["check"])

_BODY = {
    "application/json": {"schema": schema_ref(CheckIn)},
    "multipart/form-data": media_form(
        {
            "content_id": {"type": "string", "minLength": 1, "maxLength": 255},
            "url": {"type": "string", "maxLength": 2048},
        },
        required=["content_id", "media"],
    ),
}


async def _from_multipart(request: Request, limit: int) -> tuple[str, str | None, bytes]:
    fields, data = await read_media_form(request, limit)
    try:
        return check_content_id(fields.get("content_id")), check_url(fields.get("url")), data
    except PlatformError as exc:
        raise problem(exc) from None


@router.post(
    "/check",
    response_model=CheckOut,
    response_model_exclude_none=True,
    summary="Check an upload: allow, review or block",
    **api_doc("check", 413, 422, body=_BODY),
)
async def check(request: Request, caller: CheckCaller) -> dict[str, Any]:
    """Match the content's hashes (JSON) or its media (multipart `media`) against the banks,
    record it in the registry, and answer the verdict with the banks and cases matched."""
    services = services_of(request.app)
    settings = services.settings
    started = time.perf_counter()
    try:
        if is_multipart(request):
            limit = settings.max_upload_bytes
            content_id, url, data = await _from_multipart(request, limit)
            try:
                signals: Signals = await run_in_threadpool(services.runtime.hash_media, data)
            except MediaError as exc:
                raise media_problem(exc) from None
        else:
            body: CheckIn = await read_json(request, CheckIn, JSON_BODY_LIMIT)
            item = content_item(body)
            content_id, url, signals = item.content_id, item.url, item.signals
        if signals.empty:
            raise InvalidSignalError(
                "send at least one of pdq, md5, sha256, video_pdq, vpdq, or a media file",
                field="pdq",
            )
        result = await run_in_threadpool(_check, services.runtime, content_id, url, signals)
    except PlatformError as exc:
        raise problem(exc) from None
    services.metrics.observe_check(result.verdict, time.perf_counter() - started)
    return {
        "content_id": result.content_id,
        "verdict": result.verdict,
        "matches": [{"bank": m.bank, "case_number": m.case_number} for m in result.matches],
    }


def _check(
    runtime: PlatformRuntime, content_id: str, url: str | None, signals: Signals
) -> CheckResult:
    runtime.refresh()
    return check_and_record(runtime.writer, runtime.matcher, content_id, url=url, signals=signals)
