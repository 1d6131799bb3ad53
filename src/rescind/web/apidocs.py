"""The interactive API docs at `/docs` (Swagger UI), served from this origin.

Swagger UI's script and style come from the `fastapi-offline` package (a Swagger UI 5 build)
and its start-up script is ours, in `static/apidocs`: the page works offline, loads nothing
from a third party on the console's origin, and lives under the app's CSP (no inline script
or style). There is no `/redoc`: ReDoc builds its styles as inline <style> elements, which the
CSP refuses, and fetches its logo from its vendor's CDN.
"""

from __future__ import annotations

from html import escape
from importlib import resources

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
# fastapi-offline ships the build in its `static` folder; nothing else of it is used.
_VENDOR = ("fastapi_offline", "static")

router = APIRouter(include_in_schema=False)

_SWAGGER = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-init.js"></script>
</body>
</html>
"""


def _page(request: Request, template: str) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    app = request.app
    return HTMLResponse(
        template.format(
            title=escape(app.title),
            assets=escape(root + ASSETS),
            openapi=escape(root + (app.openapi_url or "/openapi.json")),
        )
    )


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI: read the operations and try them with a key."""
    return _page(request, _SWAGGER)


def install_api_docs(app: FastAPI) -> None:
    """Add `/docs` and its assets to `app` (created with FastAPI's own docs off)."""
    ours = resources.files("rescind.web") / "static" / "apidocs"
    app.mount(
        ASSETS,
        StaticFiles(directory=str(ours), packages=[_VENDOR]),
        name="apidocs",
    )
    app.include_router(router)
