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
    """The settings and a migrated database for one command, disposed of when it ends
    (exit 2 with one clear line when the schema is not there)."""
    from rescind.store import Database  # not at import: `rescind hash` starts without it
    from rescind.store.schema import schema_is_current

    settings = load_settings(db)
    database = Database(settings)
    try:
        if not schema_is_current(database):
            typer.echo(
                "error: the database is missing or not migrated to this version of Rescind: "
                "run `rescind db upgrade` first (or `rescind serve`, which migrates).",
                err=True,
            )
            raise typer.Exit(2)
        yield settings, database
    finally:
        database.dispose()
