"""A database that cannot be reached is a 503 the client can retry, never a 500."""

from __future__ import annotations

import socket
from pathlib import Path

from fastapi.testclient import TestClient

from rescind.config import Settings
from rescind.web import create_app


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_api_and_pages_answer_503_while_the_database_is_away(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://rescind@127.0.0.1:{_closed_port()}/rescind?connect_timeout=2"
    app = create_app(Settings(environment="test", data_dir=tmp_path, database_url=url))
    with TestClient(app, raise_server_exceptions=False) as client:
        api = client.get(
            "/v1/requests/RSC-AAAA-BBBB-CCCC",
            headers={"Authorization": f"Bearer rsk_abcd1234_{'x' * 43}"},
        )
        assert api.status_code == 503
        assert api.headers["content-type"].startswith("application/problem+json")
        assert api.headers["retry-after"] == "1"
        assert api.json()["title"] == "Service unavailable"
        assert client.get("/readyz").status_code == 503
