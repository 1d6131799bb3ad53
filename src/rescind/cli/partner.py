"""`rescind partner ...`: peer instances whose hash feed we pull (docs/exchange.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from rescind.cli.common import DbOption, open_database

partner_app = typer.Typer(help="Partners whose hash feed we pull.", no_args_is_help=True)


@partner_app.command("add")
def partner_add(
    name: Annotated[str, typer.Argument(help="A short name (letters, digits, - and _).")],
    url: Annotated[
        str, typer.Argument(help="The partner's base URL, e.g. https://rescind.example")
    ],
    api_key: Annotated[
        str, typer.Option("--api-key", help="The partner's API key for us (scope exchange).")
    ],
    public_key: Annotated[
        str, typer.Option("--public-key", help="The partner's `rescind exchange identity`.")
    ],
    banks: Annotated[
        str | None, typer.Option(help="Comma-separated banks to pull (default: all granted).")
    ] = None,
    on_match: Annotated[
        str, typer.Option("--on-match", help="What a match on its entries does: review|block.")
    ] = "review",
    db: DbOption = None,
) -> None:
    """Pull a partner's feed into the bank `partner-NAME` (API key sealed at rest)."""
    from rescind.exchange.partners import add_partner, partner_bank_name
    from rescind.platform.errors import PlatformError

    try:
        with open_database(db) as (settings, database), database.session() as session:
            add_partner(
                session, settings, name, url, api_key=api_key, public_key=public_key,
                banks=[b.strip() for b in banks.split(",") if b.strip()] if banks else None,
                on_match=on_match,
            )  # fmt: skip
    except PlatformError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"added partner {name}: its entries land in bank {partner_bank_name(name)}")


@partner_app.command("list")
def partner_list(db: DbOption = None) -> None:
    """Partners with their cursor, last successful pull and last error (never their keys);
    StopNCII too when it is configured."""
    from rescind.exchange import stopncii
    from rescind.exchange.partners import list_partners

    with open_database(db) as (settings, database), database.session() as session:
        if stopncii.configured(settings):
            s = stopncii.status(session, settings)
            ok = s.last_ok_at.isoformat() if s.last_ok_at else "never"
            typer.echo(
                f"stopncii\t{settings.stopncii_url}\tactive\tcheckpoint={s.checkpoint}\t"
                f"last_ok={ok}\tunsupported={s.unsupported}\terror={s.last_error or '-'}"
            )
        for p in list_partners(session):
            state = "active" if p.active else "disabled"
            ok = p.last_ok_at.isoformat() if p.last_ok_at else "never"
            typer.echo(
                f"{p.name}\t{p.base_url}\t{state}\tcursor={p.cursor}\tlast_ok={ok}\t"
                f"banks={p.banks or '*'}\terror={p.last_error or '-'}"
            )


@partner_app.command("disable")
def partner_disable(name: str, db: DbOption = None) -> None:
    """Stop pulling a partner (its bank keeps matching until you disable the bank too)."""
    from rescind.exchange.partners import set_partner_active
    from rescind.platform.errors import PlatformError

    try:
        with open_database(db) as (_settings, database), database.session() as session:
            set_partner_active(session, name, False)
    except PlatformError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"disabled partner {name}")
