"""What every command shares: the `--db` option, settings from the environment, a database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from rescind.config import Settings

if TYPE_CHECKING:
    from rescind.store import Database

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (sets RESCIND_DATABASE_URL).", show_default=False),
]


def load_settings(db: str | None = None, **overrides: object) -> Settings:
    """Settings from the environment, with command-line overrides applied."""
    if db:
        overrides["database_url"] = db
    return Settings(**overrides)  # type: ignore[arg-type]


@contextmanager
def open_database(db: str | None) -> Iterator[tuple[Settings, Database]]:
    """The settings and a database for one command, disposed of when it ends."""
    from rescind.store import Database  # not at import: `rescind hash` starts without it

    settings = load_settings(db)
    database = Database(settings)
    try:
        yield settings, database
    finally:
        database.dispose()
