"""Probes tell an orchestrator whether the process is up and whether its database is ready."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from rescind.config import Settings
from rescind.store import Database
from rescind.web import create_app


def test_ready_on_a_migrated_database(settings: Settings, database: Database) -> None:
    with TestClient(create_app(settings, database=database)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready"
        assert client.get("/openapi.json").json()["info"]["title"] == "Rescind"


def test_not_ready_before_migrations(tmp_path: Path) -> None:
    settings = Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
