"""Installs the human-facing parts on the app: public pages, console, their security headers,
and the `/v1/requests` routes. Called once by `create_app` (which builds what they use)."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from rescind.config import Settings
from rescind.web.api import requests as api_requests
from rescind.web.console import routes as console_routes
from rescind.web.public import intake_routes, status_routes
from rescind.web.security import SecurityHeaders


def install_ui(app: FastAPI, settings: Settings) -> None:
    """Mount static files, add security headers, and include the public, console and API routes."""
    app.add_middleware(SecurityHeaders, settings=settings)
    app.mount(
        "/static",
        StaticFiles(directory=str(resources.files("rescind.web") / "static")),
        name="static",
    )
    app.include_router(intake_routes.router)
    app.include_router(status_routes.router)
    app.include_router(console_routes.router)
    console_routes.install_login_redirect(app)
    app.include_router(api_requests.router)
