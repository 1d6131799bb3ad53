"""`rescind worker` and `rescind webhook ...`: the platform's command-line entry points."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Annotated

import typer

webhook_app = typer.Typer(help="Webhook endpoints receiving actions.", no_args_is_help=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (sets RESCIND_DATABASE_URL).", show_default=False),
]


def worker(db: DbOption = None) -> None:
    """Run background jobs (webhook deliveries, emails, escalations) until stopped."""
    from rescind.cli import load_settings
    from rescind.jobs import Worker
    from rescind.jobs.registry import build_registry
    from rescind.store import Database, upgrade_database

    settings = load_settings(db)
    upgrade_database(settings)
    database = Database(settings)
    runner = Worker(settings, database, build_registry())

    def stop(_signum: int, _frame: FrameType | None) -> None:
        runner.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    typer.echo(f"worker {runner.worker_id} running", err=True)
    runner.run_forever()
    database.dispose()


@webhook_app.command("add")
def webhook_add(
    url: Annotated[str, typer.Argument(help="The platform's HTTPS endpoint.")],
    secret: Annotated[
        str | None, typer.Option(help="Signing secret; generated and printed when omitted.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Deliver actions to another endpoint too. Prints the signing secret on the last line."""
    from rescind.cli import load_settings
    from rescind.platform.endpoints import add_endpoint
    from rescind.platform.errors import PlatformError
    from rescind.store import Database

    settings = load_settings(db)
    database = Database(settings)
    try:
        with database.session() as session:
            row, key = add_endpoint(session, settings, url, secret)
            typer.echo(f"added endpoint {row.id}")
    except PlatformError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    finally:
        database.dispose()
    typer.echo(key)


@webhook_app.command("list")
def webhook_list(db: DbOption = None) -> None:
    """List webhook endpoints (never their secrets)."""
    from rescind.cli import load_settings
    from rescind.platform.endpoints import list_endpoints
    from rescind.store import Database

    settings = load_settings(db)
    if settings.webhook_url:
        typer.echo(f"-\t{settings.webhook_url}\tactive (RESCIND_WEBHOOK_URL)")
    database = Database(settings)
    with database.session() as session:
        for row in list_endpoints(session):
            typer.echo(f"{row.id}\t{row.url}\t{'active' if row.active else 'disabled'}")
    database.dispose()


@webhook_app.command("disable")
def webhook_disable(endpoint_id: int, db: DbOption = None) -> None:
    """Stop delivering to an endpoint."""
    from rescind.cli import load_settings
    from rescind.store import Database
    from rescind.store.models import WebhookEndpoint

    database = Database(load_settings(db))
    with database.session() as session:
        row = session.get(WebhookEndpoint, endpoint_id)
        if row is not None:
            row.active = False
    database.dispose()
    if row is None:
        typer.echo(f"error: no endpoint {endpoint_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"disabled endpoint {endpoint_id}")


def register(app: typer.Typer) -> None:
    """Add the platform's commands to the `rescind` app."""
    app.command("worker")(worker)
    app.add_typer(webhook_app, name="webhook")
