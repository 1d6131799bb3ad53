"""A test client of the whole app on the parametrised database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from rescind.config import Settings
from rescind.store import Database
from rescind.web import create_app


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    """The app with its pages, on the test database."""
    with TestClient(create_app(settings, database=database)) as test_client:
        yield test_client
