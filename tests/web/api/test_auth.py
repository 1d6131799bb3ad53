"""API keys: created by the CLI, hashed at rest, scoped, revocable; errors are problem+json."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import select
from typer.testing import CliRunner

from rescind.cli import app as cli
from rescind.config import Settings
from rescind.platform.apikeys import ApiPrincipal
from rescind.store import Database
from rescind.store.models import ApiKey
from rescind.web import create_app
from rescind.web.api.auth import CheckCaller
from rescind.web.deps import services_of


class Echo(BaseModel):
    content_id: str
    count: int


def _app(settings: Settings, database: Database) -> FastAPI:
    # A probe route behind the real dependency; the real routes come with the platform API.
    app = create_app(settings, database=database)
    services_of(app).api_key_cache.ttl_s = 0  # every call verifies its key again
    router = APIRouter()

    @router.post("/v1/_probe")
    def probe(caller: CheckCaller, body: Echo) -> dict[str, object]:
        principal: ApiPrincipal = caller
        return {"key": principal.name, "scopes": sorted(principal.scopes)}

    app.include_router(router)
    return app


def _create_key(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["apikey", "create", *args, "--db", db_url])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    with TestClient(_app(settings, database)) as test_client:
        yield test_client


def test_key_from_cli_works_and_is_only_stored_hashed(
    client: TestClient, db_url: str, database: Database
) -> None:
    key = _create_key(db_url, "uploads", "--scopes", "check,content")
    ok = client.post(
        "/v1/_probe",
        json={"content_id": "a", "count": 1},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert ok.status_code == 200
    assert ok.json() == {"key": "uploads", "scopes": ["check", "content"]}
    with database.session() as session:
        row = session.scalars(select(ApiKey)).one()
    assert key not in (row.key_hash, row.prefix, row.scopes)


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer rsk_nope_nope", "Basic dXNlcjpwYXNz", "Bearer ' OR 1=1 --"],
)
def test_missing_or_bad_keys_get_401_problem(client: TestClient, header: str) -> None:
    response = client.post(
        "/v1/_probe", json={"content_id": "a", "count": 1}, headers={"Authorization": header}
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["title"] == "Unauthorized"


def test_wrong_scope_is_403_and_revoked_key_is_401(client: TestClient, db_url: str) -> None:
    key = _create_key(db_url, "reviewer-bot", "--scopes", "review")
    auth = {"Authorization": f"Bearer {key}"}
    denied = client.post("/v1/_probe", json={"content_id": "a", "count": 1}, headers=auth)
    assert denied.status_code == 403
    assert "check" in denied.json()["detail"]
    result = CliRunner().invoke(cli, ["apikey", "revoke", "1", "--db", db_url])
    assert result.exit_code == 0, result.output
    assert client.post("/v1/_probe", json={}, headers=auth).status_code == 401


def test_validation_errors_name_each_field(client: TestClient, db_url: str) -> None:
    key = _create_key(db_url, "uploads")
    response = client.post(
        "/v1/_probe", json={"count": "many"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"content_id", "count"}


def test_unknown_scope_is_refused_by_the_cli(db_url: str) -> None:
    result = CliRunner().invoke(cli, ["apikey", "create", "x", "--scopes", "root", "--db", db_url])
    assert result.exit_code == 2
    assert "unknown scope" in result.output


def test_last_use_of_a_key_is_recorded_to_the_minute(
    client: TestClient, db_url: str, database: Database
) -> None:
    key = _create_key(db_url, "uploads")
    auth = {"Authorization": f"Bearer {key}"}

    def last_used() -> datetime | None:
        with database.session() as session:
            return session.scalars(select(ApiKey)).one().last_used_at

    assert last_used() is None  # created, never used
    body = {"content_id": "a", "count": 1}
    assert client.post("/v1/_probe", json=body, headers=auth).status_code == 200
    first = last_used()
    assert first is not None
    # Verified again at once (this app caches nothing): no second write within the minute.
    assert client.post("/v1/_probe", json=body, headers=auth).status_code == 200
    assert last_used() == first
    with database.session() as session:
        session.scalars(select(ApiKey)).one().last_used_at = first - timedelta(minutes=2)
    assert client.post("/v1/_probe", json=body, headers=auth).status_code == 200
    later = last_used()
    assert later is not None and later >= first
