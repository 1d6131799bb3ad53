"""HMA's matching and hashing routes: `/m/lookup`, `/m/raw_lookup`, `/m/compare`, `/h/hash`.

A lookup answers, per bank (HMA's names), the banked items matched, each with our `action`
(`block` or `review`) and no distance. Lookups are not recorded in the registry (HMA keeps no
registry; `POST /v1/check` does, with a content id).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from rescind.exchange.hma import LookupMatch, compare, lookup, signal_values, signals_of
from rescind.platform.errors import PlatformError
from rescind.platform.media_signals import MediaError
from rescind.platform.signals import Signals
from rescind.web.deps import AppServices, services_of
from rescind.web.hma.common import (
    NO_URL,
    CheckCaller,
    HmaError,
    bank_filter,
    hma_doc,
    hma_errors,
    query_flag,
    read_json_object,
    read_upload,
)

router = APIRouter()


def _signal(request: Request) -> tuple[str, Signals]:
    signal_type = request.query_params.get("signal_type")
    signal = request.query_params.get("signal")
    if not signal or not signal_type:
        raise HmaError(400, "Either url or both signal and signal_type are required")
    try:
        return signal_type, signals_of(signal_type, signal)
    except PlatformError as exc:
        prefix = "" if exc.field == "signal_type" else "invalid signal: "
        raise HmaError(400, prefix + exc.detail) from None


def _lookup(
    services: AppServices, signals: Signals, banks: set[str] | None, *, video: bool
) -> list[LookupMatch]:
    services.runtime.refresh()
    with services.database.session() as session:
        return lookup(session, services.runtime.matcher, signals, banks=banks, video=video)


def _by_bank(matches: Sequence[LookupMatch]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for m in matches:
        out.setdefault(m.bank, []).append({"bank_content_id": m.content_id, "action": m.action})
    return out


async def _hash_upload(request: Request) -> Signals:
    services = services_of(request.app)
    upload = await read_upload(request, services.settings.max_upload_bytes)
    with hma_errors():  # every decode slot or the memory budget taken: 503
        try:
            return await run_in_threadpool(services.runtime.hash_media, upload.data)
        except MediaError as exc:
            raise HmaError(400, f"the file cannot be hashed: {exc}") from None


@router.get("/m/lookup", **hma_doc("check", "Look up a hash (HMA)"))
async def lookup_get(request: Request, caller: CheckCaller) -> dict[str, Any]:
    """HMA's lookup of one hash (`signal`, `signal_type`): `{bank: [{"bank_content_id",
    "action"}]}`; `banks` keeps only those banks."""
    if request.query_params.get("url"):
        raise HmaError(400, NO_URL)
    signal_type, signals = _signal(request)
    services = services_of(request.app)
    matches = await run_in_threadpool(
        _lookup, services, signals, bank_filter(request), video=signal_type == "video_md5"
    )
    return _by_bank(matches)


@router.post("/m/lookup", **hma_doc("check", "Look up a file (HMA)"))
async def lookup_post(request: Request, caller: CheckCaller) -> dict[str, Any]:
    """HMA's lookup of an uploaded file (multipart, field `photo` or `video`): the matches
    keyed by signal type, then by bank."""
    signals = await _hash_upload(request)
    video = signals.kind == "video"
    services = services_of(request.app)
    matches = await run_in_threadpool(_lookup, services, signals, bank_filter(request), video=video)
    out: dict[str, Any] = {t: {} for t in (("video_md5", "vpdq") if video else ("pdq",))}
    for signal_type in {m.signal_type for m in matches}:
        out[signal_type] = _by_bank([m for m in matches if m.signal_type == signal_type])
    return out


@router.get("/m/raw_lookup", **hma_doc("check", "Raw hash lookup (HMA)"))
async def raw_lookup(request: Request, caller: CheckCaller) -> dict[str, Any]:
    """HMA's raw lookup: `{"matches": [content ids]}`, or objects `{"bank_content_id"}` with
    `include_distance` (the distance itself is never answered)."""
    signal_type, signals = _signal(request)
    with_objects = query_flag(request, "include_distance")
    services = services_of(request.app)
    matches = await run_in_threadpool(
        _lookup, services, signals, bank_filter(request), video=signal_type == "video_md5"
    )
    ids = sorted({m.content_id for m in matches})
    return {"matches": [{"bank_content_id": i} for i in ids] if with_objects else ids}


@router.post("/m/compare", **hma_doc("check", "Compare hashes (HMA)"))
async def compare_hashes(request: Request, caller: CheckCaller) -> dict[str, Any]:
    """HMA's comparison of pairs of hashes the caller holds: `{"pdq": [a, b]}` answers
    `{"pdq": [match, {"distance": bits}]}`."""
    body = await read_json_object(request)
    threshold = services_of(request.app).settings.pdq_threshold
    out: dict[str, Any] = {}
    with hma_errors():
        for signal_type, pair in body.items():
            out[signal_type] = compare(signal_type, pair, threshold)
    return out


@router.get("/h/hash", **hma_doc("check", "Hash media from a URL (HMA): not served"))
async def hash_url(request: Request, caller: CheckCaller) -> dict[str, Any]:
    """Rescind does not fetch media from URLs: 400 (upload the file with `POST /h/hash`)."""
    raise HmaError(400, NO_URL)


@router.post("/h/hash", **hma_doc("check", "Hash a file (HMA)"))
async def hash_file(request: Request, caller: CheckCaller) -> dict[str, str]:
    """HMA's hashing of an uploaded file: `{"pdq": ...}` for a picture, `{"video_md5": ...}`
    for a video. Nothing is kept."""
    signals = await _hash_upload(request)
    return signal_values(signals, video=signals.kind == "video")
