"""`/v1/requests`: file, read and decide through the API with scoped keys; each missing TAKE IT
DOWN element is a 422 problem naming its field, and nothing is stored then."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rescind.config import Settings
from rescind.platform.apikeys import create_api_key
from rescind.store import Database
from rescind.store.models import Request
from rescind.web import create_app


@pytest.fixture
def api(settings: Settings, database: Database) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A client and bearer headers for: writer, reader, reviewer, and a check-only key."""
    with database.session() as session:
        keys = {
            name: create_api_key(session, name, frozenset(scopes))[1]
            for name, scopes in (
                ("writer", {"requests:write"}),
                ("reader", {"requests:read"}),
                ("reviewer", {"review", "requests:read"}),
                ("checker", {"check"}),
            )
        }
    with TestClient(create_app(settings, database=database)) as client:
        yield client, {k: f"Bearer {v}" for k, v in keys.items()}


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "language": "fr",
        "channel": "api",
        "requester": {"name": "Alex Example", "email": "alex@example.org", "representative": True},
        "signature": "Alex Example",
        "good_faith_statement": "Je n'ai jamais consenti.",
        "items": [
            {
                "url": "https://platform.example/p/1",
                "content_id": "p-1",
                "pdq": ["a" * 64],
                "md5": "b" * 32,
            }
        ],
    }
    body.update(changes)
    return body


def _count(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(Request)) or 0)


def test_file_read_and_decide(api: tuple[TestClient, dict[str, str]], database: Database) -> None:
    client, auth = api
    created = client.post("/v1/requests", json=_body(), headers={"Authorization": auth["writer"]})
    assert created.status_code == 201, created.text
    data = created.json()
    assert set(data) == {"case_number", "secret", "status", "deadline_at"}
    assert data["status"] == "received"
    number = data["case_number"]
    read = client.get(f"/v1/requests/{number}", headers={"Authorization": auth["reader"]})
    assert read.status_code == 200
    assert read.json()["items"][0]["pdq"] == ["a" * 64] and "email" not in read.text
    decided = client.post(
        f"/v1/requests/{number}/decision",
        json={"outcome": "remove", "reason": "valid request"},
        headers={"Authorization": auth["reviewer"]},
    )
    assert decided.status_code == 200, decided.text
    case = decided.json()
    assert case["status"] == "actioned" and case["decisions"][0]["outcome"] == "remove"
    assert [a["content_id"] for a in case["actions"]] == ["p-1"]
    again = client.post(
        f"/v1/requests/{number}/decision",
        json={"outcome": "reject"},
        headers={"Authorization": auth["reviewer"]},
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"signature": None}, ["signature"]),
        ({"good_faith_statement": ""}, ["good_faith_statement"]),
        ({"requester": None}, ["requester.name", "requester.email"]),
        ({"items": []}, ["items"]),
        ({"items": [{"pdq": ["xyz"]}]}, ["items[0].pdq"]),
        ({"items": [{"pdq": ["a" * 64] * 129}]}, ["items[0].pdq"]),
        (
            {"signature": None, "good_faith_statement": None, "requester": None, "items": []},
            ["items", "good_faith_statement", "requester.name", "requester.email", "signature"],
        ),
    ],
)
def test_missing_elements_are_named_and_nothing_is_stored(
    api: tuple[TestClient, dict[str, str]],
    database: Database,
    changes: dict[str, Any],
    fields: list[str],
) -> None:
    client, auth = api
    response = client.post(
        "/v1/requests", json=_body(**changes), headers={"Authorization": auth["writer"]}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == fields
    assert _count(database) == 0


def test_scopes_are_enforced(api: tuple[TestClient, dict[str, str]], database: Database) -> None:
    client, auth = api
    assert client.post("/v1/requests", json=_body()).status_code == 401
    assert (
        client.post(
            "/v1/requests", json=_body(), headers={"Authorization": auth["checker"]}
        ).status_code
        == 403
    )
    number = client.post(
        "/v1/requests", json=_body(), headers={"Authorization": auth["writer"]}
    ).json()["case_number"]
    assert (
        client.get(f"/v1/requests/{number}", headers={"Authorization": auth["writer"]}).status_code
        == 403
    )
    assert (
        client.post(
            f"/v1/requests/{number}/decision",
            json={"outcome": "remove"},
            headers={"Authorization": auth["reader"]},
        ).status_code
        == 403
    )
    assert (
        client.get(
            "/v1/requests/RSC-0000-0000-0000", headers={"Authorization": auth["reader"]}
        ).status_code
        == 404
    )
    bad = client.post(
        f"/v1/requests/{number}/decision",
        json={"outcome": "need_info"},
        headers={"Authorization": auth["reviewer"]},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason"
