"""The app's services and the shared FastAPI dependencies (`Annotated` aliases) that hand them out.

`create_app` builds one frozen `AppServices` and keeps it in the app's only state slot,
`app.state.services`; `services_of` is the one place that slot is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session
from starlette.applications import Starlette

from rescind.config import Settings
from rescind.services import Services
from rescind.store import Database

if TYPE_CHECKING:  # these modules use the dependencies below: import their types only
    from starlette.templating import Jinja2Templates

    from rescind.jobs import Worker
    from rescind.web.keycache import KeyCache
    from rescind.web.metrics import PlatformMetrics
    from rescind.web.ratelimit import Limits
    from rescind.web.security import Csrf
    from rescind.web.sessions import Signer


@dataclass(frozen=True)
class AppServices(Services):
    """Everything the web app's routes use, built once by `create_app`: the process's services
    and the web's own (templates, CSRF, cookie signers, rate limits, metrics, the verified-key
    cache, and the worker `rescind serve` runs in a thread, if any)."""

    templates: Jinja2Templates
    csrf: Csrf
    case_signer: Signer
    console_signer: Signer
    limits: Limits
    metrics: PlatformMetrics
    api_key_cache: KeyCache
    worker: Worker | None


def services_of(app: Starlette) -> AppServices:
    """The services `create_app` built for `app`."""
    services = app.state.services
    if not isinstance(services, AppServices):
        raise TypeError("not an app built by rescind.web.create_app")
    return services


def get_services(request: Request) -> AppServices:
    """The services of the app serving `request`."""
    return services_of(request.app)


def get_settings(request: Request) -> Settings:
    """The app's Settings."""
    return services_of(request.app).settings


def get_db(request: Request) -> Database:
    """The app's Database."""
    return services_of(request.app).database


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed when the route returns, rolled back on error."""
    with get_db(request).session() as session:
        yield session


ServicesDep = Annotated[AppServices, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
# scope="function": commit before the response is sent, so what a client was told is durable.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
# The largest row id SQLite's INTEGER and PostgreSQL's bigint hold: a larger one in a path or a
# query is refused (422) before it reaches the database driver (which fails on it).
ROW_ID_MAX = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=ROW_ID_MAX, description="A row id (1 to 2^63-1).")]
