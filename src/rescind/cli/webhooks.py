"""`rescind webhook ...`: where actions are delivered."""

from __future__ import annotations

from typing import Annotated

import typer

from rescind.cli.common import DbOption, open_database

webhook_app = typer.Typer(help="Webhook endpoints receiving actions.", no_args_is_help=True)


@webhook_app.command("add")
def webhook_add(
    url: Annotated[str, typer.Argument(help="The platform's HTTPS endpoint.")],
    secret: Annotated[
        str | None, typer.Option(help="Signing secret; generated and printed when omitted.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Deliver actions to another endpoint too. Prints the signing secret on the last line."""
    from rescind.platform.endpoints import add_endpoint
    from rescind.platform.errors import PlatformError

    try:
        with open_database(db) as (settings, database), database.session() as session:
            row, key = add_endpoint(session, settings, url, secret)
            typer.echo(f"added endpoint {row.id}")
    except PlatformError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(key)


@webhook_app.command("list")
def webhook_list(db: DbOption = None) -> None:
    """List webhook endpoints (never their secrets, nor credentials in their URLs)."""
    from rescind.platform.endpoints import list_endpoints
    from rescind.security.addresses import redact_url

    with open_database(db) as (settings, database):
        if settings.webhook_url:
            shown = redact_url(settings.webhook_url)
            typer.echo(f"-\t{shown}\tactive (RESCIND_WEBHOOK_URL)")
        with database.session() as session:
            for row in list_endpoints(session):
                state = "active" if row.active else "disabled"
                typer.echo(f"{row.id}\t{redact_url(row.url)}\t{state}")


@webhook_app.command("disable")
def webhook_disable(endpoint_id: int, db: DbOption = None) -> None:
    """Stop delivering to an endpoint."""
    from rescind.store.models import WebhookEndpoint

    with open_database(db) as (_settings, database), database.session() as session:
        row = session.get(WebhookEndpoint, endpoint_id)
        if row is not None:
            row.active = False
    if row is None:
        typer.echo(f"error: no endpoint {endpoint_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"disabled endpoint {endpoint_id}")
