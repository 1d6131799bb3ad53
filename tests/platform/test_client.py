"""The Python client (sync and async) against the real app, and its error type."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi.testclient import TestClient

from rescind.client import AsyncRescindClient, RescindClient, RescindError
from rescind.config import Settings
from rescind.platform.actions import REMOVE, create_action
from rescind.platform.apikeys import create_api_key
from rescind.store import Database
from rescind.web import create_app


def _bridge(app_client: TestClient) -> httpx.MockTransport:
    """An httpx transport that hands each request to the app's test client."""

    def handle(request: httpx.Request) -> httpx.Response:
        response = app_client.request(
            request.method,
            str(request.url),
            headers=dict(request.headers),
            content=request.read(),
        )
        return httpx.Response(
            response.status_code, headers=dict(response.headers), content=response.content
        )

    return httpx.MockTransport(handle)


def _key(database: Database) -> str:
    with database.session() as session:
        _, key = create_api_key(session, "platform", frozenset({"check", "content"}))
    return key


def test_sync_client(settings: Settings, database: Database) -> None:
    key = _key(database)
    with TestClient(create_app(settings, database=database)) as app_client:
        rescind = RescindClient("http://testserver", key, transport=_bridge(app_client))
        assert rescind.check("a", md5="1" * 32) == {
            "content_id": "a",
            "verdict": "allow",
            "matches": [],
        }
        assert rescind.register([{"content_id": "b", "sha256": "2" * 64}]) == 1
        rescind.forget("b")
        with pytest.raises(RescindError) as caught:
            rescind.check("c", pdq=["zz"])
        assert caught.value.status == 422
        assert caught.value.errors[0]["field"] == "pdq.0"
        with pytest.raises(RescindError) as missing:
            rescind.forget("b")
        assert missing.value.status == 404
        rescind.close()


def test_async_client(settings: Settings, database: Database) -> None:
    key = _key(database)
    app = create_app(settings, database=database)
    with database.session() as session:
        action, _ = create_action(session, REMOVE, "x1", request_id=None)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with AsyncRescindClient("http://testserver", key, transport=transport) as rescind:
            result = await rescind.check("a", pdq=["ab" * 32])
            assert result["verdict"] == "allow"
            assert await rescind.register([{"content_id": "b", "md5": "3" * 32}]) == 1
            pending = await rescind.actions(status="pending")
            assert [a["content_id"] for a in pending] == ["x1"]
            done = await rescind.mark_done(action.id, "not_found")
            assert (done["status"], done["outcome"]) == ("confirmed", "not_found")
            with pytest.raises(RescindError):
                await rescind.mark_done(999)

    asyncio.run(run())


def test_bad_key_is_a_401_error(settings: Settings, database: Database) -> None:
    with TestClient(create_app(settings, database=database)) as app_client:
        rescind = RescindClient("http://testserver", "rsk_bad_key", transport=_bridge(app_client))
        with pytest.raises(RescindError) as caught:
            rescind.check("a", md5="1" * 32)
        assert caught.value.status == 401 and caught.value.title == "Unauthorized"
