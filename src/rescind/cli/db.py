"""`rescind db ...`: the database schema."""

from __future__ import annotations

import typer

from rescind.cli.common import DbOption, load_settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Apply every pending schema migration."""
    from rescind.store import upgrade_database

    upgrade_database(load_settings(db))
    typer.echo("database is up to date", err=True)
