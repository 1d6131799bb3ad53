"""Probes tell an orchestrator whether the process is up and whether its database is ready."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from rescind.config import Settings
from rescind.platform.apikeys import create_api_key
from rescind.store import Database
from rescind.web import create_app
from rescind.web.deps import services_of
from tests.conftest import METRICS


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


def test_metrics_need_the_configured_token(settings: Settings, database: Database) -> None:
    """Bank size, block counts and outbox state are not public."""
    with TestClient(create_app(settings, database=database)) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
        right = client.get("/metrics", headers=METRICS)
        assert right.status_code == 200 and "rescind_bank_entries" in right.text
    unset = settings.model_copy(update={"metrics_token": None})
    with TestClient(create_app(unset, database=database)) as client:
        assert client.get("/metrics", headers=METRICS).status_code == 404


def test_no_answer_is_kept_in_a_cache_but_static_files(
    settings: Settings, database: Database
) -> None:
    with database.session() as session:
        _, key = create_api_key(session, "checker", frozenset({"check"}))
    bearer = {"Authorization": f"Bearer {key}"}
    app = create_app(settings, database=database)
    with TestClient(app) as client:
        assert services_of(app).runtime.ready.wait(120)
        body = {"content_id": "c-1", "md5": "0" * 32}
        answers = [client.post("/v1/check", json=body, headers=bearer) for _ in range(3)]
        answers += [
            client.get("/v1/actions", headers=bearer),  # a refusal (wrong scope)
            client.get("/v1/nothing-here"),
            client.get("/console/login"),
            client.get("/status"),
            client.get("/metrics", headers=METRICS),
        ]
        for answer in answers:
            assert answer.headers["cache-control"] == "no-store", answer.request.url
        assert "no-store" not in client.get("/static/rescind.css").headers.get("cache-control", "")
