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
    """Send our reviewer's verdict on a partner's (or StopNCII's) entry back to its source."""
    from rescind.exchange import stopncii
    from rescind.exchange.pull import send_feedback
    from rescind.platform.errors import PlatformError

    if verdict not in ("ncii", "not_ncii"):
        typer.echo("error: --verdict is ncii or not_ncii", err=True)
        raise typer.Exit(2)
    try:
        with open_database(db) as (settings, database), database.session() as session:
            if stopncii.record_of_entry(session, entry_id) is not None:
                stopncii.send_verdict(session, settings, entry_id, verdict)
            else:
                send_feedback(session, settings, entry_id, verdict, note)
    except PlatformError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"sent {verdict} on entry {entry_id}")


stopncii_app = typer.Typer(
    help="StopNCII.org: pull its hashes, see the adapter's state.", no_args_is_help=True
)
exchange_app.add_typer(stopncii_app, name="stopncii")


@stopncii_app.command("pull")
def stopncii_pull(db: DbOption = None) -> None:
    """Pull StopNCII's hashes now (the worker does so every RESCIND_STOPNCII_PULL_S seconds)."""
    from rescind.exchange import stopncii

    with open_database(db) as (settings, database):
        if not stopncii.configured(settings):
            typer.echo("error: StopNCII is not configured (RESCIND_STOPNCII_URL, _KEY)", err=True)
            raise typer.Exit(2)
        result = stopncii.pull(database.engine, settings)
    typer.echo(
        f"stopncii: {result.pages} pages, {result.added} added, {result.withdrawn} withdrawn, "
        f"{result.unsupported} unsupported (kept, not matched)"
    )
    if result.error:
        typer.echo(f"error: {result.error}", err=True)
        raise typer.Exit(1)


@stopncii_app.command("status")
def stopncii_status(db: DbOption = None) -> None:
    """Checkpoint, last pull, last error, and the hashes held by type and status (no hash)."""
    from rescind.exchange import stopncii

    with open_database(db) as (settings, database), database.session() as session:
        state = stopncii.status(session, settings)
    ok = state.last_ok_at.isoformat() if state.last_ok_at else "never"
    typer.echo(
        f"configured={'yes' if state.configured else 'no'}\tcheckpoint={state.checkpoint}\t"
        f"last_ok={ok}\terror={state.last_error or '-'}"
    )
    for (signal_type, status, supported), count in sorted(state.counts.items()):
        flag = "" if supported else "\tunsupported (kept, not matched)"
        typer.echo(f"{signal_type}\t{status}\t{count}{flag}")
