"""The console's routes, gathered, and the redirect to sign-in."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from rescind.web.console import (
    appeal_routes,
    audit_routes,
    auth_routes,
    case_routes,
    compliance_routes,
    exchange_routes,
    ncmec_routes,
)
from rescind.web.console.session import LoginRequired

router = APIRouter()
router.include_router(auth_routes.router)
router.include_router(case_routes.router)
router.include_router(audit_routes.router)
router.include_router(appeal_routes.router)
router.include_router(ncmec_routes.router)
router.include_router(compliance_routes.router)
router.include_router(exchange_routes.router)


def install_login_redirect(app: FastAPI) -> None:
    """Requests without a console session go to the sign-in page."""

    async def to_login(_request: Request, _exc: Exception) -> Response:
        return RedirectResponse("/console/login", status_code=303)

    app.add_exception_handler(LoginRequired, to_login)
