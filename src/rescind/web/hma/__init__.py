"""HMA-compatible routes: Meta's Hasher-Matcher-Actioner API (`/m/...` matching, `/c/...`
banks, `/h/hash`) over our banks and matcher, so a platform integrated with HMA switches by
changing its base URL and adding an API key. What they do is `rescind.exchange.hma`; every
difference from HMA is in docs/hma.md."""

from __future__ import annotations

from fastapi import FastAPI

from rescind.web.hma import curation, matching
from rescind.web.hma.common import install_error_handler


def include_hma_api(app: FastAPI) -> None:
    """Add the HMA-compatible routes and their error shape to `app`."""
    install_error_handler(app)
    app.include_router(matching.router)
    app.include_router(curation.router)
