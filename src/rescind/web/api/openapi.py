"""What the OpenAPI document says about /v1 beyond what FastAPI infers: the bearer key and its
scope, the problem+json errors, and the request bodies the routes read themselves.

Routes that parse their own body (to cap its size, or to take multipart media) have no body
parameter for FastAPI to describe, so they pass `api_doc(..., body=...)`; the models named
there are added to `components` by `complete_openapi`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from rescind.web.api.schemas import CheckIn, ContentBatchIn, EntriesIn
from rescind.web.problems import Problem, problem_responses

BEARER = "bearerAuth"
_REF = "#/components/schemas/{model}"
# Bodies described by hand (openapi_extra): their schemas must be in components.
BODY_MODELS: tuple[type[BaseModel], ...] = (CheckIn, ContentBatchIn, EntriesIn)


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    """A `$ref` to `model` in components (see BODY_MODELS)."""
    return {"$ref": _REF.format(model=model.__name__)}


def media_form(properties: dict[str, dict[str, Any]], required: list[str]) -> dict[str, Any]:
    """A multipart/form-data body whose `media` part is the file itself."""
    return {
        "schema": {
            "type": "object",
            "required": required,
            "properties": {
                **properties,
                "media": {
                    "type": "string",
                    "format": "binary",
                    "contentMediaType": "application/octet-stream",
                    "description": "The image or video; hashed in memory and not kept.",
                },
            },
        }
    }


def api_doc(scope: str, *problems: int, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for a /v1 route decorator: the key's `scope`, the problem responses
    the route can answer besides 401, 403 and 503, and a body the route reads itself."""
    extra: dict[str, Any] = {"security": [{BEARER: [scope]}]}
    if body is not None:
        extra["requestBody"] = {"required": True, "content": body}
    return {"responses": problem_responses(401, 403, *problems, 503), "openapi_extra": extra}


def complete_openapi(document: dict[str, Any]) -> dict[str, Any]:
    """Add the bearer scheme and the shared schemas, and replace FastAPI's own validation
    error (never sent: our 422 is a problem) wherever FastAPI added it."""
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from `rescind apikey create NAME --scopes ...`; each "
        "operation lists the scope it needs.",
    }
    schemas = components.setdefault("schemas", {})
    models: tuple[type[BaseModel], ...] = (Problem, *BODY_MODELS)
    for model in models:
        schema = model.model_json_schema(ref_template=_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if "requestBody" in operation:  # FastAPI answers 400 to a body it cannot parse
                responses.setdefault("400", problem_responses(400)[400])
            if "application/json" in responses.get("422", {}).get("content", {}):
                responses["422"] = problem_responses(422)[422]
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document
