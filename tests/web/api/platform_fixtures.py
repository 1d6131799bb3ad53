"""An app with the platform API and keys for each scope (shared by the platform API tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from rescind.config import Settings
from rescind.platform.apikeys import create_api_key
from rescind.platform.runtime import PlatformRuntime
from rescind.store import Database
from rescind.web import create_app
from rescind.web.deps import services_of


@dataclass
class Api:
    """A test client plus bearer headers per role."""

    client: TestClient
    runtime: PlatformRuntime
    check: dict[str, str]
    content: dict[str, str]
    review: dict[str, str]

    def sync(self) -> None:
        """Make bank changes effective now (instead of waiting for the poller)."""
        self.runtime.sync_all()


@pytest.fixture
def api(settings: Settings, database: Database) -> Iterator[Api]:
    yield from serve_api(settings, database)


def serve_api(settings: Settings, database: Database) -> Iterator[Api]:
    """The app of `settings` on `database`, served to a test client while the generator runs."""
    keys = {}
    with database.session() as session:
        for scope in ("check", "content", "review"):
            _, key = create_api_key(session, f"{scope}-key", frozenset({scope}))
            keys[scope] = {"Authorization": f"Bearer {key}"}
    app = create_app(settings, database=database)
    with TestClient(app) as client:
        runtime = services_of(app).runtime
        yield Api(client, runtime, keys["check"], keys["content"], keys["review"])
