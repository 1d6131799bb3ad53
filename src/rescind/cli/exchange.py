"""`rescind exchange ...`: this instance's identity, who may read our feed, pulls and verdicts."""

from __future__ import annotations

from typing import Annotated

import typer

from rescind.cli.common import DbOption, load_settings, open_database

exchange_app = typer.Typer(help="Hash exchange between instances.", no_args_is_help=True)


@exchange_app.command("identity")
def exchange_identity() -> None:
    """Print this instance's Ed25519 public key (give it to partners); generated on first use."""
    from rescind.exchange.identity import load_identity

    identity = load_identity(load_settings())
    typer.echo(f"instance {identity.instance_id}", err=True)
    typer.echo(identity.public_key)


@exchange_app.command("grant")
def exchange_grant(
    key_name: Annotated[str, typer.Argument(help="The name of an API key with scope exchange.")],
    banks: Annotated[str, typer.Option(help="Comma-separated banks the key may read.")],
    db: DbOption = None,
) -> None:
    """Let a partner's API key read banks through `GET /v1/exchange/feed`."""
    from rescind.exchange.partners import grant_banks
    from rescind.platform.banks import ensure_default_banks
    from rescind.platform.errors import PlatformError

    try:
        with open_database(db) as (settings, database), database.session() as session:
            ensure_default_banks(session, settings)
            grants = grant_banks(session, key_name, [b.strip() for b in banks.split(",")])
    except PlatformError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{key_name} may read: {', '.join(g.bank for g in grants)}")


@exchange_app.command("pull")
def exchange_pull(
    name: Annotated[str, typer.Argument(help="The partner to pull now.")], db: DbOption = None
) -> None:
    """Pull a partner's feed now (the worker does so every RESCIND_EXCHANGE_PULL_S seconds)."""
    from rescind.exchange.partners import get_partner
    from rescind.exchange.pull import pull_partner
    from rescind.platform.errors import PlatformError

    with open_database(db) as (settings, database):
        try:
            with database.session() as session:
                partner_id = get_partner(session, name).id
        except PlatformError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from exc
        result = pull_partner(database.engine, settings, partner_id)
    typer.echo(
        f"{name}: {result.pages} pages, {result.applied} added, {result.withdrawn} withdrawn"
    )
    if result.error:
        typer.echo(f"error: {result.error}", err=True)
        raise typer.Exit(1)


@exchange_app.command("feedback")
def exchange_feedback(
    entry_id: Annotated[int, typer.Argument(help="Our bank entry that came from a partner.")],
    verdict: Annotated[str, typer.Option(help="ncii or not_ncii.")],
    note: Annotated[str | None, typer.Option(help="Why (no personal data).")] = None,
    db: DbOption = None,
) -> None:
    """Send our reviewer's verdict on a partner's entry back to that partner."""
    from rescind.exchange.pull import send_feedback
    from rescind.platform.errors import PlatformError

    if verdict not in ("ncii", "not_ncii"):
        typer.echo("error: --verdict is ncii or not_ncii", err=True)
        raise typer.Exit(2)
    try:
        with open_database(db) as (settings, database), database.session() as session:
            send_feedback(session, settings, entry_id, verdict, note)
    except PlatformError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"sent {verdict} on entry {entry_id}")
