"""Liveness and readiness probes, and `/metrics` (Prometheus text format)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
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


def _bearer_is(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    given_bytes, token_bytes = given.strip().encode(), token.encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(given_bytes, token_bytes)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, services: ServicesDep) -> Response:
    """Prometheus exposition, for a scraper holding `RESCIND_METRICS_TOKEN` only (bank size,
    block counts and outbox state are not public). Without a configured token the route does
    not exist (404); a wrong or missing token gets 401."""
    configured = services.settings.metrics_token
    if configured is None or not configured.get_secret_value():
        return Response(status_code=404)
    if not _bearer_is(request, configured.get_secret_value()):
        return Response(status_code=401, headers={"www-authenticate": 'Bearer realm="metrics"'})
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
