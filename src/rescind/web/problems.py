"""Errors as RFC 9457 `application/problem+json`: `title`, `detail`, and for validation
`errors: [{field, message}]`. One place maps every user-caused error of the API to that shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"

# What each problem status means on /v1, as the OpenAPI document tells a platform engineer.
_PROBLEM_MEANINGS = {
    400: "The body could not be parsed (not JSON, or nested too deeply): nothing was changed.",
    401: "No `Authorization: Bearer <key>` header, or the key is unknown or revoked.",
    403: "The key lacks the scope this operation needs.",
    404: "What the path names does not exist.",
    409: "The operation conflicts with the current state.",
    413: "The body is over the limit (`detail` gives it in bytes).",
    422: "The request is invalid: `errors` names each field at fault.",
    503: "The database is briefly unavailable, or (media uploads) every decode slot is taken; "
    "nothing was changed: retry after `Retry-After`.",
}


class FieldProblem(BaseModel):
    """One field at fault in an invalid request."""

    field: str = Field(description="Dotted path of the field, e.g. `items.0.pdq`.")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem: what every /v1 error answers, as `application/problem+json`."""

    type: str = Field("about:blank", description="Always `about:blank`: `title` says it all.")
    title: str
    status: int = Field(description="The HTTP status, repeated.")
    detail: str | None = Field(
        None, description="What went wrong here (absent when `title` is enough)."
    )
    errors: list[FieldProblem] | None = Field(
        None, description="For 422: each field at fault (absent otherwise)."
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route decorator documenting the problems it can answer."""
    return {
        status: {
            "description": _PROBLEM_MEANINGS[status],
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        }
        for status in statuses
    }


class ProblemError(Exception):
    """An error a caller caused, reported as problem+json with `status`."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers


def field_problem(title: str, field: str, message: str) -> ProblemError:
    """A 422 problem naming the one field at fault (`errors: [{field, message}]`)."""
    return ProblemError(422, title, message, errors=[{"field": field, "message": message}])


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_name(loc: tuple[int | str, ...] | list[int | str]) -> str:
    # FastAPI locations start with where the value came from ("body", "query", ...).
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """FastAPI's validation errors as `[{field, message}]` (input values are never echoed)."""
    return [
        {"field": _field_name(e.get("loc", ())), "message": str(e.get("msg", ""))}
        for e in exc.errors()
    ]


def install_problem_handlers(app: FastAPI) -> None:
    """Map API errors to problem+json. Pages outside /v1 keep their own error handling."""

    async def on_problem(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return problem_response(
            exc.status, exc.title, exc.detail, errors=exc.errors, headers=exc.headers
        )

    async def on_validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = validation_errors(exc)
        return problem_response(
            422, "Invalid request", f"{len(errors)} field(s) invalid", errors=errors
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not request.url.path.startswith("/v1"):
            from fastapi.exception_handlers import http_exception_handler

            return await http_exception_handler(request, exc)
        return problem_response(
            exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None)
        )

    async def on_data_error(request: Request, exc: Exception) -> Response:
        # A value the database refuses to store or compare (PostgreSQL: a NUL character in a
        # text, a number out of its column's range). The unit of work has rolled back, so
        # nothing changed: it is the caller's error, not the server's.
        detail = "a value cannot be stored (a NUL character, or a number out of range)"
        if not request.url.path.startswith("/v1"):
            return PlainTextResponse(f"Bad request: {detail}", status_code=400)
        return problem_response(422, "Invalid request", detail)

    async def on_database_away(request: Request, _exc: Exception) -> Response:
        # The database cannot be reached (restarting, failing over, locked past the busy
        # timeout): the unit of work rolled back, nothing changed, and the same call will
        # succeed once it is back. A 503 tells clients to retry; a 500 would say we failed.
        detail = "the database is briefly unavailable; nothing was changed, try again"
        headers = {"Retry-After": "1"}
        if not request.url.path.startswith("/v1"):
            return PlainTextResponse(
                f"Service unavailable: {detail}", status_code=503, headers=headers
            )
        return problem_response(503, "Service unavailable", detail, headers=headers)

    async def on_database_error(request: Request, exc: Exception) -> Response:
        # Any other database error (a constraint violated, a statement refused): our fault,
        # and a 500. Logged here by type, SQLSTATE and route only: the exception's own text
        # (which a server logs with its traceback) carries PostgreSQL's DETAIL, and that
        # repeats the failing row: a requester's name, supporting information, case number.
        assert isinstance(exc, DBAPIError)
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "sqlite_errorname", "")
        log.error(
            "database error %s (%s) on %s %s",
            type(exc.orig).__name__,
            code,
            request.method,
            getattr(request.scope.get("route"), "path", "?"),
        )
        detail = "the server could not complete this; nothing was changed"
        if not request.url.path.startswith("/v1"):
            return PlainTextResponse(f"Server error: {detail}", status_code=500)
        return problem_response(500, "Server error", detail)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(DBAPIError, on_database_error)
    app.add_exception_handler(DataError, on_data_error)
    app.add_exception_handler(OperationalError, on_database_away)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
