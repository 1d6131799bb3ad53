"""What the HMA-compatible routes share: HMA's error shape (`{"message"}` with the status), our
API keys in front of them, and bodies read within limits (JSON objects, one uploaded file)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from rescind.platform.apikeys import ApiPrincipal
from rescind.platform.errors import PlatformError
from rescind.web.api.auth import require_scopes
from rescind.web.api.common import capped_stream
from rescind.web.api.openapi import BEARER
from rescind.web.problems import ProblemError

JSON_LIMIT = 64 * 1024  # a few hashes, a note and metadata
# HMA names the uploaded file's form field after its content type.
CONTENT_TYPES = ("photo", "video")
NO_URL = (
    "Rescind does not fetch media from URLs: upload the file (multipart/form-data, field "
    "`photo` or `video`) or send its hashes"
)


class HmaError(Exception):
    """An error answered as HMA answers errors: `{"message": ...}` with `status`."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


# Our error statuses in HMA's terms: HMA answers 400 for every invalid input, 403 for a bank
# name that is taken.
_STATUS = {422: 400, 409: 403}


def hma_error(exc: PlatformError) -> HmaError:
    """A service error in HMA's shape (a 503 says when to come back, as /v1 does)."""
    headers = {"Retry-After": "2"} if exc.status == 503 else None
    return HmaError(_STATUS.get(exc.status, exc.status), exc.detail, headers)


@contextmanager
def hma_errors() -> Iterator[None]:
    """Answer a service error raised inside as HMA answers it (`hma_error`)."""
    try:
        yield
    except PlatformError as exc:
        raise hma_error(exc) from None


def _from_problem(exc: ProblemError) -> HmaError:
    return HmaError(exc.status, exc.detail or exc.title, exc.headers)


def install_error_handler(app: FastAPI) -> None:
    """Answer HmaError as HMA does."""

    async def on_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HmaError)
        return JSONResponse({"message": exc.message}, status_code=exc.status, headers=exc.headers)

    app.add_exception_handler(HmaError, on_error)


def _caller(scope: str) -> Callable[[Request], ApiPrincipal]:
    check = require_scopes(scope)

    def dependency(request: Request) -> ApiPrincipal:
        try:
            return check(request)
        except ProblemError as exc:
            raise _from_problem(exc) from None

    return dependency


# Lookups and hashing take a `check` key; bank reads and writes a `review` key, as /v1/banks.
CheckCaller = Annotated[ApiPrincipal, Depends(_caller("check"))]
ReviewCaller = Annotated[ApiPrincipal, Depends(_caller("review"))]


def hma_doc(scope: str, summary: str) -> dict[str, Any]:
    """Keyword arguments for an HMA-compatible route decorator (OpenAPI: tag, key scope)."""
    return {
        "tags": ["hma"],
        "summary": summary,
        "openapi_extra": {"security": [{BEARER: [scope]}]},
    }


async def read_json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON object body (400 otherwise; `{}` for no body unless `required`)."""
    try:
        raw = b"".join([c async for c in capped_stream(request, JSON_LIMIT)])
    except ProblemError as exc:
        raise _from_problem(exc) from None
    if not raw.strip() and not required:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise HmaError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise HmaError(400, "Request input was not a dict")
    return body


def is_multipart(request: Request) -> bool:
    """Whether the body is a multipart form (an uploaded file)."""
    return request.headers.get("content-type", "").startswith("multipart/form-data")


@dataclass(frozen=True)
class Upload:
    """One uploaded file: HMA's content type (its form field), its bytes, the text fields."""

    content_type: str
    data: bytes
    fields: dict[str, str]


async def read_upload(request: Request, limit: int) -> Upload:
    """The one file of a multipart form, in a `photo` or `video` field, of at most `limit`
    bytes (400 for a malformed form, a missing or second file, 413 over the limit)."""
    if not is_multipart(request):
        raise HmaError(400, "Missing multipart/form-data file upload")
    parser = MultiPartParser(
        request.headers,
        capped_stream(request, limit + 64 * 1024),
        max_files=2,
        max_fields=10,
        max_part_size=64 * 1024,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise HmaError(400, exc.message) from None
    except ProblemError as exc:
        raise _from_problem(exc) from None
    try:
        files = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
        if not files:
            raise HmaError(400, "Missing multipart/form-data file upload")
        if len(files) > 1:
            raise HmaError(400, "Only one file allowed per request")
        field, upload = files[0]
        if field not in CONTENT_TYPES:
            raise HmaError(400, f"no such content_type: '{field}'")
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise HmaError(413, f"Content too large: the limit is {limit} bytes")
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        return Upload(field, data, fields)
    finally:
        await form.close()


def query_flag(request: Request, name: str) -> bool:
    """A true/false query parameter (HMA accepts true/false and 1/0)."""
    value = request.query_params.get(name, "false").lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise HmaError(400, "invalid boolean parameter - prefer true/false")


def bank_filter(request: Request) -> set[str] | None:
    """The `banks` query parameter: comma-separated bank names, or None for every bank."""
    value = request.query_params.get("banks")
    return {b for b in value.split(",") if b} if value else None
