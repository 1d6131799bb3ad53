"""Probes tell an orchestrator whether the process is up and whether its database is ready."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from rescind.config import Settings
from rescind.store import Database
from rescind.web import create_app
from rescind.web.deps import services_of


def test_ready_on_a_migrated_database(settings: Settings, database: Database) -> None:
    app = create_app(settings, database=database)
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        # Not ready until the kernels are compiled or loaded; then ready for good.
        deadline = time.monotonic() + 120
        ready = client.get("/readyz")
        while ready.status_code != 200 and time.monotonic() < deadline:
            assert ready.status_code == 503 and ready.json()["status"] == "starting"
            time.sleep(0.05)
            ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready"
        assert services_of(app).runtime.ready.is_set()
        assert client.get("/openapi.json").json()["info"]["title"] == "Rescind"


def test_not_ready_while_the_kernels_are_not_compiled(
    settings: Settings, database: Database
) -> None:
    app = create_app(settings, database=database)
    runtime = services_of(app).runtime
    with TestClient(app) as client:
        assert runtime.ready.wait(120)
        runtime.ready.clear()  # as before the warm-up ends
        starting = client.get("/readyz")
        assert starting.status_code == 503 and starting.json()["status"] == "starting"
        runtime.ready.set()
        assert client.get("/readyz").status_code == 200


def test_not_ready_before_migrations(tmp_path: Path) -> None:
    settings = Settings(environment="test", database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
