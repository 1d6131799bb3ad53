"""`rescind serve` and `rescind worker`: the two process roles."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated, Any

import typer

from rescind.cli.common import DbOption, load_settings
from rescind.config import Settings


def _check_endpoints(settings: Settings) -> None:
    """Removal actions need somewhere to go: say so at start when no endpoint is configured;
    when one is (perhaps just set in the environment), send the actions that waited for it."""
    from rescind.platform.actions import deliver_waiting_now
    from rescind.platform.endpoints import active_endpoints
    from rescind.store import Database

    database = Database(settings)
    try:
        with database.session() as session:
            if active_endpoints(session, settings):
                deliver_waiting_now(session)
                return
    finally:
        database.dispose()
    typer.secho(
        "warning: no webhook endpoint is configured: removal actions wait until the platform "
        "confirms them with POST /v1/actions/{id}/done, or until an endpoint is added "
        "(RESCIND_WEBHOOK_URL, or `rescind webhook add URL`: waiting actions then go out).",
        err=True,
        fg=typer.colors.YELLOW,
    )


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy options: X-Forwarded-For/-Proto only from RESCIND_TRUSTED_PROXIES (the
    app reads them the same way, `rescind.web.forwarded`), never uvicorn's default of trusting
    any loopback peer (or FORWARDED_ALLOW_IPS from the environment)."""
    networks = [str(net) for net in settings.trusted_proxy_networks]
    return {"proxy_headers": bool(networks), "forwarded_allow_ips": networks}


def serve(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    db: DbOption = None,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker", help="Do not run background jobs here (run `rescind worker` instead)."
        ),
    ] = False,
    processes: Annotated[
        int | None,
        typer.Option(
            min=1, max=64, help="Server processes sharing the port (sets RESCIND_WEB_PROCESSES)."
        ),
    ] = None,
) -> None:
    """Migrate the database, then serve the web app and API (and, by default, the worker)."""
    import uvicorn

    from rescind.store import upgrade_database
    from rescind.web import create_app
    from rescind.web.serving import HTTP_PROTOCOL

    overrides: dict[str, object] = {}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    if processes:
        overrides["web_processes"] = processes
    settings = load_settings(db, **overrides)
    upgrade_database(settings)
    _check_endpoints(settings)
    run_worker = settings.embedded_worker and not no_worker
    # No access log: request paths carry case numbers, and logging every check costs throughput.
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "access_log": False,
        # No `server: uvicorn` header: it tells a prober what runs here, and every check
        # response would carry it.
        "server_header": False,
        # uvicorn's protocol, writing each response in one piece.
        "http": HTTP_PROTOCOL,
        **proxy_options(settings),
    }
    if settings.web_processes == 1:
        uvicorn.run(create_app(settings, run_worker=run_worker), **options)
        return
    # Several processes: each builds its app from the environment, so hand them this command's
    # options there. The job worker runs once, here in the supervising process.
    os.environ.update(
        {
            "RESCIND_HOST": settings.host,
            "RESCIND_PORT": str(settings.port),
            "RESCIND_DATABASE_URL": settings.sqlalchemy_url,
        }
    )
    with _embedded_worker(settings, run_worker):
        uvicorn.run(
            "rescind.web.app:create_app",
            factory=True,
            workers=settings.web_processes,
            **options,
        )


@contextmanager
def _embedded_worker(settings: Settings, enabled: bool) -> Iterator[None]:
    """Run the job worker in a thread of this process while the block runs."""
    if not enabled:
        yield
        return
    from rescind.jobs import Worker
    from rescind.services import build_job_registry
    from rescind.store import Database

    database = Database(settings)
    worker = Worker(settings, database, build_job_registry())
    thread = threading.Thread(target=worker.run_forever, name="rescind-worker", daemon=True)
    thread.start()
    typer.echo(f"worker {worker.worker_id} running in the supervising process", err=True)
    try:
        yield
    finally:
        worker.stop()
        thread.join(timeout=60)
        database.dispose()


def worker(db: DbOption = None) -> None:
    """Run background jobs (webhook deliveries, emails, escalations) until stopped."""
    from rescind.jobs import Worker
    from rescind.services import build_job_registry
    from rescind.store import Database, upgrade_database

    settings = load_settings(db)
    upgrade_database(settings)
    database = Database(settings)
    runner = Worker(settings, database, build_job_registry())

    def stop(_signum: int, _frame: FrameType | None) -> None:
        runner.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    typer.echo(f"worker {runner.worker_id} running", err=True)
    runner.run_forever()
    database.dispose()
