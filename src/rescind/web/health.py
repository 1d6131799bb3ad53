"""Liveness and readiness probes, and `/metrics` (Prometheus text format)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.exposition import generate_latest
from sqlalchemy import text

from rescind.web.deps import DatabaseDep, ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(db: DatabaseDep, response: Response) -> dict[str, str]:
    """The process can reach its database and the schema is migrated."""
    try:
        with db.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:  # any database failure means "not ready"
        response.status_code = 503
        return {"status": "unavailable", "detail": type(exc).__name__}
    return {"status": "ready", "schema": str(version)}


@router.get("/metrics", include_in_schema=False)
def metrics(services: ServicesDep) -> Response:
    """Prometheus exposition."""
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
