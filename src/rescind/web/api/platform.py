"""Wires the platform API into an app: routes, per-process runtime, metrics, embedded worker."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fastapi import FastAPI

from rescind.config import Settings
from rescind.jobs import Worker
from rescind.platform.banks import ensure_default_banks
from rescind.platform.runtime import runtime_for
from rescind.store import Database
from rescind.web import metrics
from rescind.web.api import actions, banks, check, content, exchange

log = logging.getLogger("rescind.web")


def include_platform_api(app: FastAPI, settings: Settings, db: Database) -> None:
    """Add the platform routes and `/metrics`, and the state they use, to `app`."""
    runtime = runtime_for(db.engine, settings)
    app.state.platform = runtime
    app.state.metrics = metrics.PlatformMetrics(runtime, db)
    for module in (check, content, actions, banks, exchange):
        app.include_router(module.router)
    app.include_router(metrics.router)


def start_platform(
    app: FastAPI, settings: Settings, db: Database, *, run_worker: bool
) -> Callable[[], None]:
    """Start the matcher poller (and the worker thread if asked); returns the stopper."""
    from rescind.services import build_job_registry

    runtime = app.state.platform
    try:
        with db.session() as session:
            ensure_default_banks(session, settings)
    except Exception as exc:  # not migrated yet: /readyz says so; banks come with the first use
        log.warning("could not create the default banks: %s", type(exc).__name__)
    runtime.start()
    worker: Worker | None = None
    thread: threading.Thread | None = None
    if run_worker:
        worker = Worker(settings, db, build_job_registry())
        app.state.worker = worker
        thread = threading.Thread(target=worker.run_forever, name="rescind-worker", daemon=True)
        thread.start()
        log.info("embedded worker started")

    def stop() -> None:
        if worker is not None and thread is not None:
            worker.stop()
            thread.join(timeout=60)
        runtime.stop()

    return stop
