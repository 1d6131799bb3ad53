"""Inputs that once made a server error: each is now a clear 4xx, and nothing is stored."""

from __future__ import annotations

from sqlalchemy import func, select

from rescind.platform.apikeys import SCOPES, create_api_key
from rescind.store import Database
from rescind.store.models import BankEntry, Content, Request
from tests.web.api.platform_fixtures import Api


def _everything(database: Database) -> dict[str, str]:
    with database.session() as session:
        _, key = create_api_key(session, "hostile", frozenset(SCOPES))
    return {"Authorization": f"Bearer {key}", "content-type": "application/json"}


def _count(database: Database, model: type) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_deeply_nested_json_is_refused_before_it_is_parsed(api: Api, database: Database) -> None:
    headers = _everything(database)
    for depth in (40, 5_000, 200_000):
        nested = b"[" * depth + b"]" * depth
        bodies = {
            "/v1/check": b'{"content_id": "a", "pdq": ' + nested + b"}",
            "/v1/content": b'{"items": [{"content_id": "a", "pdq": ' + nested + b"}]}",
            "/v1/banks/ncii/entries": b'{"entries": ' + nested + b"}",
        }
        for path, body in bodies.items():
            response = api.client.post(path, content=body, headers=headers)
            assert response.status_code == 422, (path, depth, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert "levels deep" in response.json()["detail"]
    assert _count(database, Content) == 0
    assert _count(database, BankEntry) == 0
    # a bracket inside a string is not nesting
    body = b'{"content_id": "' + b"[" * 100 + b'", "pdq": ["' + b"ab" * 32 + b'"]}'
    assert api.client.post("/v1/check", content=body, headers=headers).status_code == 200


def test_ids_beyond_64_bits_are_refused_not_a_server_error(api: Api, database: Database) -> None:
    headers = _everything(database)
    huge = str(2**63)
    calls = [
        ("GET", f"/v1/actions?after_id={huge}", None),
        ("POST", f"/v1/actions/{huge}/done", {"outcome": "removed"}),
        ("DELETE", f"/v1/banks/ncii/entries/{huge}", None),
        ("POST", f"/v1/requests/RSC-0000-0000/leads/{huge}", {"decision": "confirm"}),
        ("POST", f"/v1/requests/RSC-0000-0000/items/{huge}", {"outcome": "reject"}),
        ("GET", f"/v1/exchange/feedback?after_id={huge}", None),
    ]
    for method, path, body in calls:
        response = api.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 422, (path, response.text)
    # the largest id a column holds is simply not there
    largest = str(2**63 - 1)
    response = api.client.post(
        f"/v1/actions/{largest}/done", json={"outcome": "removed"}, headers=headers
    )
    assert response.status_code == 404


def test_a_frame_time_that_is_not_a_finite_number_is_refused(api: Api, database: Database) -> None:
    """`NaN` and `Infinity` are not JSON but Python reads them; `1e400` is JSON and reads as
    infinity. A frame at such a time would be stored and break every answer naming it."""
    headers = _everything(database)
    frame = '{"hash": "' + "ab" * 32 + '", "t": %s}'
    for value in ("NaN", "Infinity", "-Infinity", "1e400"):
        for path, body in (
            ("/v1/check", '{"content_id": "v", "video_pdq": [%s]}' % (frame % value)),
            (
                "/v1/content",
                '{"items": [{"content_id": "v", "video_pdq": [%s]}]}' % (frame % value),
            ),
        ):
            response = api.client.post(path, content=body.encode(), headers=headers)
            assert response.status_code == 422, (path, value, response.text)
    assert _count(database, Content) == 0


def test_the_regulator_channel_needs_its_own_scope(api: Api, database: Database) -> None:
    """A 24-hour clock and the head of the queue are for regulators' keys only."""
    with database.session() as session:
        _, writer = create_api_key(session, "platform", frozenset({"requests:write"}))
        _, regulator = create_api_key(
            session, "esafety", frozenset({"requests:write", "requests:regulator"})
        )
    body = {
        "language": "en",
        "channel": "regulator",
        "requester": {"name": "A B", "email": "a@example.com", "representative": True},
        "signature": "A B",
        "good_faith_statement": "I believe in good faith that this shows her without consent.",
        "items": [{"url": "https://example.com/x"}],
    }
    refused = api.client.post(
        "/v1/requests", json=body, headers={"Authorization": f"Bearer {writer}"}
    )
    assert refused.status_code == 403, refused.text
    assert "requests:regulator" in refused.json()["detail"]
    assert _count(database, Request) == 0
    ok = api.client.post(
        "/v1/requests", json=body, headers={"Authorization": f"Bearer {regulator}"}
    )
    assert ok.status_code == 201, ok.text
    api_body = {**body, "channel": "api"}
    plain = api.client.post(
        "/v1/requests", json=api_body, headers={"Authorization": f"Bearer {writer}"}
    )
    assert plain.status_code == 201
    with database.session() as session:
        channels = sorted(session.scalars(select(Request.channel)))
    assert channels == ["api", "regulator"]
