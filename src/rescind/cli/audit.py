"""`rescind audit ...`: the tamper-evident audit log."""

from __future__ import annotations

import typer

from rescind.cli.common import DbOption, open_database

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(db: DbOption = None) -> None:
    """Recompute the audit chain; exit 1 and name the first bad event if anything was altered."""
    from rescind.security.audit import verify_chain

    with open_database(db) as (_settings, database), database.session() as session:
        report = verify_chain(session)
    if report.ok:
        typer.echo(f"ok: {report.events} events, chain intact")
        return
    typer.echo(f"BROKEN at event {report.first_bad_id}: {report.problem}")
    raise typer.Exit(1)
