"""The OpenAPI document a platform engineer codes against: valid, complete for every /v1
operation (bearer scope, success schema, problem responses), and true to what the API does."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from rescind.config import Settings
from rescind.platform.apikeys import create_api_key
from rescind.store import Database
from rescind.web import create_app
from rescind.web.deps import services_of
from rescind.web.security import CSP
from tests.conftest import METRICS

PROBLEM_JSON = "application/problem+json"
# A body that passes validation, where `{}` would stop at a 422 before the route's own errors.
BODIES: dict[str, dict[str, Any]] = {"/v1/requests/{case_number}/decision": {"outcome": "remove"}}
SCOPES = frozenset({"check", "content", "requests:write", "requests:read", "review", "exchange"})


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`/openapi.json` as served by `create_app(settings)` (no database needed for it)."""
    root = tmp_path_factory.mktemp("openapi")
    settings = Settings(
        environment="test", data_dir=root, database_url=f"sqlite:///{root / 'unused.db'}"
    )
    response = TestClient(create_app(settings)).get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        if path.startswith("/v1"):
            for method, operation in operations.items():
                yield method, path, operation


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _matches(document: dict[str, Any], schema: dict[str, Any], instance: Any) -> list[str]:
    """Errors of `instance` against a schema of the document (its `$ref`s resolved there)."""
    rooted = {**schema, "components": document["components"]}
    return [e.message for e in OAS31Validator(rooted).iter_errors(instance)]


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # type: ignore[arg-type]
    # The validator does not follow every `$ref` of a 3.1 document: each must resolve here.
    for ref in set(_refs(document)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in document["components"]["schemas"], ref
    # FastAPI's own validation error shape is never sent: our 422 is a problem.
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_every_v1_operation_has_a_key_a_success_schema_and_its_problems(
    document: dict[str, Any],
) -> None:
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    field = document["components"]["schemas"]["FieldProblem"]
    assert set(field["required"]) == {"field", "message"}
    operations = list(_operations(document))
    assert len(operations) >= 13
    for method, path, operation in operations:
        where = f"{method.upper()} {path}"
        [requirement] = operation["security"]
        [scope] = requirement["bearerAuth"]
        assert scope in SCOPES, where
        responses = operation["responses"]
        [success] = [code for code in responses if code.startswith("2")]
        if success != "204":
            assert "schema" in responses[success]["content"]["application/json"], where
        takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
        expected = {"401", "403"} | ({"422"} if takes_input else set())
        assert expected <= set(responses), where
        for code, response in responses.items():
            if code.startswith("4"):
                assert set(response["content"]) == {PROBLEM_JSON}, f"{where} {code}"
                schema = response["content"][PROBLEM_JSON]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, f"{where} {code}"
        if path.startswith("/v1/requests/{case_number}"):
            assert "404" in responses, where


def test_media_bodies_are_described_as_multipart(document: dict[str, Any]) -> None:
    for path, required in (
        ("/v1/check", {"content_id", "media"}),
        ("/v1/banks/{name}/entries", {"media"}),
    ):
        content = document["paths"][path]["post"]["requestBody"]["content"]
        form = content["multipart/form-data"]["schema"]
        assert set(form["required"]) == required
        assert form["properties"]["media"]["format"] == "binary"
        assert content["application/json"]["schema"]["$ref"].startswith("#/components/schemas/")
    for path in ("/v1/check", "/v1/content", "/v1/banks/{name}/entries"):
        assert "413" in document["paths"][path]["post"]["responses"], path


def _call(client: TestClient, method: str, path: str, key: str) -> Any:
    concrete = path
    for name in ("content_id", "name", "case_number"):
        concrete = concrete.replace("{" + name + "}", "nothing-here")
    for name in ("action_id", "entry_id"):
        concrete = concrete.replace("{" + name + "}", "987654")
    kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {key}"}}
    if method in {"post", "patch"}:
        kwargs["json"] = BODIES.get(path, {})
    return client.request(method.upper(), concrete, **kwargs)


def test_each_documented_scope_is_the_one_enforced(
    document: dict[str, Any], database: Database, settings: Settings
) -> None:
    """For every operation: a key with every other scope is refused (403), a key with only the
    documented one gets past the check; each answer is a status the document lists, with a
    body its schema accepts."""
    with database.session() as session:
        keys = {
            scope: (
                create_api_key(session, f"only-{scope}", frozenset({scope}))[1],
                create_api_key(session, f"not-{scope}", SCOPES - {scope})[1],
            )
            for scope in SCOPES
        }
    with TestClient(create_app(settings, database=database)) as client:
        for method, path, operation in _operations(document):
            where = f"{method.upper()} {path}"
            [scope] = operation["security"][0]["bearerAuth"]
            only, without = keys[scope]
            refused = _call(client, method, path, without)
            assert refused.status_code == 403, where
            allowed = _call(client, method, path, only)
            assert allowed.status_code not in {401, 403}, f"{where}: {allowed.text}"
            anonymous = client.request(method.upper(), path.replace("{", "").replace("}", ""))
            assert anonymous.status_code == 401, where
            for response in (refused, allowed, anonymous):
                code = str(response.status_code)
                assert code in operation["responses"], f"{where} answered {code}"
                documented = operation["responses"][code].get("content")
                if documented is None:
                    assert response.content == b"", where
                    continue
                [media_type] = documented
                assert response.headers["content-type"] == media_type, where
                schema = documented[media_type]["schema"]
                assert _matches(document, schema, response.json()) == [], where


def test_the_check_hot_path_answers_what_the_document_says(
    document: dict[str, Any], database: Database, settings: Settings
) -> None:
    """`/v1/check` is mostly answered beside FastAPI: its answers must fit the route's schema."""
    with database.session() as session:
        _, key = create_api_key(session, "checker", frozenset({"check"}))
    schema = document["paths"]["/v1/check"]["post"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    body = {"content_id": "upload-1", "md5": "0" * 32}
    app = create_app(settings, database=database)
    with TestClient(app) as client:
        answers = []
        for _ in range(2):  # the first verifies the key (route), the second is the hot path
            # The hot path serves only a freshly synced matcher: on a loaded machine the poller
            # may lag, so wait for it (up to 10 s) rather than let the route answer instead.
            deadline = time.monotonic() + 10
            while not services_of(app).runtime.fresh() and time.monotonic() < deadline:
                time.sleep(0.05)
            answers.append(
                client.post("/v1/check", json=body, headers={"Authorization": f"Bearer {key}"})
            )
        fast = next(
            line
            for line in client.get("/metrics", headers=METRICS).text.splitlines()
            if line.startswith("rescind_checks_fast_path_total")
        )
    assert float(fast.split()[1]) == 1
    for answer in answers:
        assert answer.status_code == 200
        assert answer.json()["verdict"] == "allow"
        assert _matches(document, schema, answer.json()) == []


def test_docs_page_loads_only_same_origin_assets_under_the_strict_csp(
    tmp_path: Path,
) -> None:
    settings = Settings(
        environment="test", data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}"
    )
    client = TestClient(create_app(settings))
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP  # no relaxed policy for the docs
    # No inline script or style: every script and stylesheet is a file from this origin.
    assert "<style" not in page.text
    assert re.findall(r"<script(?![^>]*\bsrc=)", page.text) == []
    urls = re.findall(r'(?:src|href|data-openapi-url)="([^"]+)"', page.text)
    assert urls and all(url.startswith("/") and not url.startswith("//") for url in urls)
    served = {url: client.get(url) for url in urls}
    kinds = {url: r.headers["content-type"].split(";")[0] for url, r in served.items()}
    assert all(r.status_code == 200 for r in served.values()), served
    assert kinds == {
        "/docs/assets/swagger-ui.css": "text/css",
        "/docs/assets/favicon.png": "image/png",
        "/openapi.json": "application/json",
        "/docs/assets/swagger-ui-bundle.js": kinds["/docs/assets/swagger-init.js"],
        "/docs/assets/swagger-init.js": kinds["/docs/assets/swagger-init.js"],
    }
    assert kinds["/docs/assets/swagger-init.js"] in {"text/javascript", "application/javascript"}
    assert b"SwaggerUIBundle" in served["/docs/assets/swagger-ui-bundle.js"].content
    # ReDoc is not offered (it needs inline styles): no page that would come up blank.
    assert client.get("/redoc").status_code == 404
