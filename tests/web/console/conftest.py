"""Console fixtures: the app on the test database, staff accounts, signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from rescind.cases.intake import submit_request
from rescind.cases.users import create_user
from rescind.config import Settings
from rescind.store import Database
from rescind.web import create_app
from tests.cases.support import valid_input

PASSWORD = "correct horse battery staple"


@pytest.fixture
def app_factory(settings: Settings, database: Database) -> Callable[[], TestClient]:
    """Build a fresh client (its own cookies) of one app."""
    app = create_app(settings, database=database)

    def make() -> TestClient:
        return TestClient(app)

    return make


@pytest.fixture
def staff(database: Database) -> dict[str, int]:
    """admin, two reviewers and an auditor."""
    with database.session() as session:
        return {
            name: create_user(session, name, PASSWORD, role, email=f"{name}@example.org").id
            for name, role in (
                ("ada", "admin"),
                ("rita", "reviewer"),
                ("remy", "reviewer"),
                ("aude", "auditor"),
            )
        }


def token_of(html: str) -> str:
    """The CSRF token in a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD, code: str = "") -> int:
    """Sign in through the form; returns the status code of the answer."""
    token = token_of(client.get("/console/login").text)
    response = client.post(
        "/console/login",
        data={"csrf_token": token, "username": username, "password": password, "code": code},
        follow_redirects=False,
    )
    return response.status_code


@pytest.fixture
def signed_in(
    app_factory: Callable[[], TestClient], staff: dict[str, int]
) -> Iterator[Callable[[str], TestClient]]:
    """Clients signed in as a given user."""
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        client = app_factory()
        client.__enter__()
        clients.append(client)
        assert sign_in(client, username) == 303
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def case_number(settings: Settings, database: Database) -> str:
    """One filed case."""
    with database.session() as session:
        return submit_request(session, settings, valid_input(language="es")).case_number
