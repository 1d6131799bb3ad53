"""Wires the platform API into an app: its routes, and the start and stop of the matcher poller
and the embedded worker."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fastapi import FastAPI

from rescind.platform.banks import ensure_default_banks
from rescind.web.api import actions, appeals, banks, check, content, exchange
from rescind.web.deps import AppServices

log = logging.getLogger("rescind.web")


def include_platform_api(app: FastAPI) -> None:
    """Add the platform routes to `app`."""
    for module in (check, content, actions, appeals, banks, exchange):
        app.include_router(module.router)


def start_platform(services: AppServices) -> Callable[[], None]:
    """Start the matcher poller (and the worker thread, if the app has a worker); returns the
    stopper."""
    runtime, worker = services.runtime, services.worker
    try:
        with services.database.session() as session:
            ensure_default_banks(session, services.settings)
    except Exception as exc:  # not migrated yet: /readyz says so; banks come with the first use
        log.warning("could not create the default banks: %s", type(exc).__name__)
    runtime.start()
    thread: threading.Thread | None = None
    if worker is not None:
        thread = threading.Thread(target=worker.run_forever, name="rescind-worker", daemon=True)
        thread.start()
        log.info("embedded worker started")

    def stop() -> None:
        if worker is not None and thread is not None:
            worker.stop()
            thread.join(timeout=60)
        runtime.stop()

    return stop
