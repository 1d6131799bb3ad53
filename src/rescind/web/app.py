"""`create_app(settings)`: the one place the ASGI app is assembled. No import-time state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from rescind import __version__
from rescind.config import Settings
from rescind.jobs import Worker
from rescind.services import build_job_registry, build_services
from rescind.store import Database
from rescind.web import health
from rescind.web.api.fastcheck import PATH as FAST_PATH
from rescind.web.api.fastcheck import FastCheck
from rescind.web.api.openapi import complete_openapi
from rescind.web.api.platform import include_platform_api, start_platform
from rescind.web.apidocs import install_api_docs
from rescind.web.deps import AppServices, services_of
from rescind.web.hma import include_hma_api
from rescind.web.keycache import KeyCache
from rescind.web.metrics import PlatformMetrics
from rescind.web.problems import install_problem_handlers
from rescind.web.ratelimit import Limits
from rescind.web.security import Csrf
from rescind.web.sessions import Signer
from rescind.web.templating import build_templates
from rescind.web.ui import install_ui


class RescindApp(FastAPI):
    """The FastAPI app, with `/v1/check`'s hot path in front of its middleware stack."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == FAST_PATH and self.middleware_stack:
            # Straight to the stack (FastCheck first): skips the framework's per-request
            # telemetry probe, a measurable share of a check's time.
            scope["app"] = self
            await self.middleware_stack(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document, completed with the bearer scheme and the problem schemas."""
        if self.openapi_schema is None:
            self.openapi_schema = complete_openapi(super().openapi())
        return self.openapi_schema

    def build_middleware_stack(self) -> ASGIApp:
        # FastCheck holds the services it uses itself: nothing is looked up per check.
        return FastCheck(super().build_middleware_stack(), services_of(self))


def build_app_services(settings: Settings, database: Database, *, run_worker: bool) -> AppServices:
    """The services of one app: the process's (`rescind.services`) and the web's own."""
    core = build_services(settings, database)
    return AppServices(
        settings=core.settings,
        database=core.database,
        runtime=core.runtime,
        enforce=core.enforce,
        on_withdraw=core.on_withdraw,
        templates=build_templates(),
        csrf=Csrf(settings),
        case_signer=Signer(settings, "case-session"),
        console_signer=Signer(settings, "console-session"),
        limits=Limits(
            submissions_per_ip=settings.submissions_per_ip_per_hour,
            submissions_global=settings.submissions_global_per_hour,
            lookups_per_ip=settings.status_lookups_per_ip_per_hour,
            logins_per_ip=settings.logins_per_ip_per_hour,
        ),
        metrics=PlatformMetrics(core.runtime, database),
        api_key_cache=KeyCache(),
        worker=Worker(settings, database, build_job_registry()) if run_worker else None,
    )


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    run_worker: bool = False,
) -> FastAPI:
    """Build the Rescind web app for `settings` (read from the environment when omitted).

    `run_worker` runs the background worker in a thread of this process (`rescind serve`)."""
    settings = settings or Settings()
    db = database or Database(settings)
    services = build_app_services(settings, db, run_worker=run_worker)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop_platform = start_platform(services)
        yield
        stop_platform()
        if database is None:
            db.dispose()

    app = RescindApp(
        title="Rescind",
        version=__version__,
        summary="Take down non-consensual intimate imagery and keep it down.",
        lifespan=lifespan,
        # FastAPI's pages load Swagger UI and ReDoc from a CDN: /docs serves it from here.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    # The app's one state slot, read only through `rescind.web.deps.services_of`.
    app.state.services = services
    install_problem_handlers(app)
    app.include_router(health.router)
    include_platform_api(app)
    include_hma_api(app)
    install_ui(app, settings)
    install_api_docs(app)
    return app
