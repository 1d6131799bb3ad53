"""Helpers shared by the platform routes: error mapping, validated bodies, capped bodies."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator
from typing import Any

import numpy as np
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from rescind.platform.errors import InvalidSignalError, PlatformError
from rescind.platform.registry import ContentItem, check_content_id, check_url
from rescind.platform.signals import Signals, parse_signals
from rescind.web.api.schemas import CheckIn, ContentIn, SignalsIn
from rescind.web.problems import ProblemError, field_problem

JSON_BODY_LIMIT = 8 * 1024 * 1024  # 36,000 frame hashes fit comfortably
# Our deepest body is four levels (`{"items": [{"pdq": [{...}]}]}`); Python's parser recurses
# once per level and fails with RecursionError (a server error) near a thousand.
JSON_DEPTH_LIMIT = 32
# Escapes first, then strings: two linear passes (one pattern for both backtracks quadratically
# on a body of `"\` repeated).
_JSON_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_JSON_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")


def problem(exc: PlatformError) -> ProblemError:
    """The problem+json error for a service error."""
    if exc.status == 422:
        return field_problem(exc.title, exc.field or "body", exc.detail)
    headers = {"Retry-After": "2"} if exc.status == 503 else None
    return ProblemError(exc.status, exc.title, exc.detail, headers=headers)


def signals_of(body: SignalsIn, prefix: str = "") -> Signals:
    """Validated signals of a body (422 naming the bad field otherwise)."""
    return parse_signals(
        pdq=[p if isinstance(p, str) else p.model_dump() for p in body.pdq or []],
        md5=body.md5,
        sha256=body.sha256,
        video_pdq=[p if isinstance(p, str) else p.model_dump() for p in body.video_pdq or []],
        vpdq=body.vpdq,
        prefix=prefix,
    )


def content_item(body: CheckIn | ContentIn, prefix: str = "") -> ContentItem:
    """The content id, URL and signals of a check or registration body, each validated
    (a PlatformError naming the bad field otherwise)."""
    return ContentItem(
        check_content_id(body.content_id, f"{prefix}content_id"),
        check_url(body.url, f"{prefix}url"),
        signals_of(body, prefix=prefix),
    )


def too_large(limit: int) -> ProblemError:
    """413 for a body over `limit` bytes."""
    return ProblemError(413, "Payload too large", f"the limit is {limit} bytes")


def check_length(request: Request, limit: int) -> None:
    """Refuse early when the declared length is already over the limit."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)


async def capped_stream(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The request body, failing with 413 as soon as it exceeds `limit` bytes."""
    check_length(request, limit)
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise too_large(limit)
        yield chunk


def nested_deeper_than(raw: bytes, limit: int) -> bool:
    """Whether the JSON text `raw` nests arrays and objects more than `limit` levels deep,
    found without parsing it: strings are dropped, then the running depth of the brackets
    left is summed (vectorised: an 8 MiB body takes tens of milliseconds)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    unescaped = _JSON_ESCAPE.sub(b"", raw)
    brackets = _JSON_STRING.sub(b"", unescaped).translate(None, _NOT_BRACKET)
    if len(brackets) <= 2 * limit:
        return False
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1).astype(np.int32)
    return bool(np.cumsum(steps).max() > limit)


def _refuse_constant(name: str) -> Any:
    """`NaN`, `Infinity` and `-Infinity` are Python's extensions, not JSON."""
    raise ValueError(f"{name} is not JSON")


async def read_json(request: Request, model: type[BaseModel], limit: int) -> Any:
    """Parse and validate a JSON body of at most `limit` bytes (422 problem on errors)."""
    chunks = [c async for c in capped_stream(request, limit)]
    body = b"".join(chunks)
    if nested_deeper_than(body, JSON_DEPTH_LIMIT):
        raise ProblemError(
            422,
            "Invalid request",
            f"the body nests more than {JSON_DEPTH_LIMIT} levels deep",
            errors=[{"field": "body", "message": f"nested over {JSON_DEPTH_LIMIT} levels"}],
        )
    try:
        raw = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        raise ProblemError(
            422,
            "Invalid request",
            "the body is not JSON",
            errors=[{"field": "body", "message": "not valid JSON"}],
        ) from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_input=False)]
        ) from None


async def read_media_form(request: Request, limit: int) -> tuple[dict[str, str], bytes]:
    """A multipart form's text fields and its one `media` file of at most `limit` bytes
    (422 problem for a malformed form or a missing file, 413 for a file over the limit)."""
    parser = MultiPartParser(
        request.headers,
        capped_stream(request, limit + 64 * 1024),
        max_files=1,
        max_fields=10,
        max_part_size=64 * 1024,
    )
    # Starlette spools a file over 1 MiB to the shared temp directory, where the upload (a
    # person's intimate picture, possibly) sits in clear while it is received: keep it in
    # memory instead, as the bytes are read into memory for hashing anyway (at most `limit`).
    parser.spool_max_size = limit + 1
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise field_problem("Invalid request", "media", exc.message) from None
    try:
        media = form.get("media")
        if not isinstance(media, UploadFile):
            raise problem(InvalidSignalError("attach the file as the `media` part", field="media"))
        data = await media.read(limit + 1)
        if len(data) > limit:
            raise too_large(limit)
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        return fields, data
    finally:
        await form.close()


def is_multipart(request: Request) -> bool:
    """Whether the request body is a multipart form (media) rather than JSON."""
    return request.headers.get("content-type", "").startswith("multipart/form-data")


def media_problem(exc: Exception) -> ProblemError:
    """422 for media that cannot be hashed (corrupt, hostile, over a limit)."""
    return field_problem("Unusable media", "media", str(exc))
