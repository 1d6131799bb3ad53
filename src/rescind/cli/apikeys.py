"""`rescind apikey ...`: keys for platforms and partners."""

from __future__ import annotations

from typing import Annotated

import typer

from rescind.cli.common import DbOption, open_database

apikey_app = typer.Typer(help="API keys for platforms and partners.", no_args_is_help=True)


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="Who the key is for, e.g. 'uploads-service'.")],
    scopes: Annotated[
        str,
        typer.Option(
            help="Comma-separated: check, content, requests:write, requests:regulator, "
            "requests:read, review, exchange."
        ),
    ] = "check",
    db: DbOption = None,
) -> None:
    """Create an API key. The key is printed once, on the last line, and never stored."""
    from rescind.platform.apikeys import ApiKeyError, create_api_key, parse_scopes

    try:
        wanted = parse_scopes(scopes)
    except ApiKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    with open_database(db) as (_settings, database), database.session() as session:
        row, key = create_api_key(session, name, wanted)
        typer.echo(f"created key {row.id} ({row.name}) with scopes {row.scopes}")
    typer.echo(key)


@apikey_app.command("list")
def apikey_list(db: DbOption = None) -> None:
    """List API keys (names, scopes, state; never the keys)."""
    from rescind.platform.apikeys import list_api_keys

    with open_database(db) as (_settings, database), database.session() as session:
        for row in list_api_keys(session):
            state = "revoked" if row.revoked_at else "active"
            typer.echo(f"{row.id}\t{row.name}\t{row.scopes}\t{state}")


@apikey_app.command("revoke")
def apikey_revoke(key_id: int, db: DbOption = None) -> None:
    """Revoke an API key (effective within seconds on every server)."""
    from rescind.platform.apikeys import revoke_api_key

    with open_database(db) as (_settings, database), database.session() as session:
        found = revoke_api_key(session, key_id)
    if not found:
        typer.echo(f"error: no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked key {key_id}")
