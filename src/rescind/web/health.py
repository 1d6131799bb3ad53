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
def readyz(services: ServicesDep, db: DatabaseDep, response: Response) -> dict[str, str]:
    """The process can reach its database, the schema is migrated, and the matching and
    hashing kernels are compiled (a fresh install compiles them at start, not on a check)."""
    try:
        with db.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:  # any database failure means "not ready"
        response.status_code = 503
        return {"status": "unavailable", "detail": type(exc).__name__}
    if not services.runtime.ready.is_set():
        response.status_code = 503
        return {"status": "starting", "detail": "compiling the matching kernels"}
    return {"status": "ready", "schema": str(version)}


@router.get("/metrics", include_in_schema=False)
def metrics(services: ServicesDep) -> Response:
    """Prometheus exposition."""
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
