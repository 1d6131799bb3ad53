"""The `rescind` command line: one Typer app, thin commands that call services."""

from __future__ import annotations

from typing import Annotated

import typer

from rescind.config import Settings

app = typer.Typer(
    name="rescind",
    help="Take down non-consensual intimate imagery and keep it down.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (sets RESCIND_DATABASE_URL).", show_default=False),
]


def load_settings(db: str | None = None, **overrides: object) -> Settings:
    """Settings from the environment, with command-line overrides applied."""
    if db:
        overrides["database_url"] = db
    return Settings(**overrides)  # type: ignore[arg-type]


@app.callback()
def main() -> None:
    """Rescind command line."""


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Apply every pending schema migration."""
    from rescind.store import upgrade_database

    upgrade_database(load_settings(db))
    typer.echo("database is up to date", err=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    db: DbOption = None,
) -> None:
    """Migrate the database, then serve the web app and API."""
    import uvicorn

    from rescind.store import upgrade_database
    from rescind.web import create_app

    overrides: dict[str, object] = {}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    settings = load_settings(db, **overrides)
    upgrade_database(settings)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
