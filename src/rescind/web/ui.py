"""Installs the human-facing parts on the app: public pages, console, their security plumbing,
and the `/v1/requests` routes. Called once by `create_app`."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from rescind.cases.enforcement import enforce, withdraw_hashes
from rescind.config import Settings
from rescind.web.api import requests as api_requests
from rescind.web.console import routes as console_routes
from rescind.web.public import intake_routes, status_routes
from rescind.web.ratelimit import Limits
from rescind.web.security import Csrf, SecurityHeaders
from rescind.web.sessions import Signer
from rescind.web.templating import build_templates


def install_ui(app: FastAPI, settings: Settings) -> None:
    """Mount static files, add security headers, and include the public, console and API routes."""
    app.state.templates = build_templates()
    app.state.csrf = Csrf(settings)
    app.state.case_signer = Signer(settings, "case-session")
    app.state.console_signer = Signer(settings, "console-session")
    app.state.limits = Limits(
        submissions_per_ip=settings.submissions_per_ip_per_hour,
        submissions_global=settings.submissions_global_per_hour,
        lookups_per_ip=settings.status_lookups_per_ip_per_hour,
        logins_per_ip=settings.logins_per_ip_per_hour,
    )
    app.state.enforce = enforce
    app.state.on_withdraw = withdraw_hashes
    app.add_middleware(SecurityHeaders, hsts=settings.public_base_url.startswith("https://"))
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
