"""`rescind audit ...`: the tamper-evident audit log."""

from __future__ import annotations

import typer

from rescind.cli.common import DbOption, open_database

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(db: DbOption = None) -> None:
    """Check the keyed audit chain against every checkpoint; exit 1 and name the first bad
    event (or checkpoint file) if anything was altered or removed."""
    from rescind.security.audit_checkpoints import verify_audit

    with open_database(db) as (settings, database), database.session() as session:
        result = verify_audit(session, settings)
    for problem in result.files.problems:
        typer.echo(f"BROKEN {problem}")
    chain = result.chain
    if not chain.ok:
        typer.echo(f"BROKEN at event {chain.first_bad_id}: {chain.problem}")
    if not result.ok:
        raise typer.Exit(1)
    typer.echo(f"ok: {chain.events} events, chain intact, {chain.anchors} checkpoints hold")


@audit_app.command("checkpoint")
def audit_checkpoint(db: DbOption = None) -> None:
    """Write a signed checkpoint of the chain's head under the data directory (the worker
    also writes one every few minutes)."""
    from rescind.security.audit_checkpoints import checkpoint_dir, write_checkpoint

    with open_database(db) as (settings, database), database.session() as session:
        written = write_checkpoint(session, settings)
    if written is None:
        typer.echo("nothing to checkpoint: the log is empty or already checkpointed")
        return
    typer.echo(
        f"checkpoint of event {written.event_id} ({written.events} events): "
        f"{checkpoint_dir(settings) / written.name}"
    )
