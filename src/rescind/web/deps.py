"""Shared FastAPI dependencies (`Annotated` aliases): settings, database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.store import Database


def get_settings(request: Request) -> Settings:
    """The app's Settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Database:
    """The app's Database."""
    db: Database = request.app.state.db
    return db


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed when the route returns, rolled back on error."""
    with get_db(request).session() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
# scope="function": commit before the response is sent, so what a client was told is durable.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
