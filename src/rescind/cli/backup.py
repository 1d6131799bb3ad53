"""`rescind backup PATH` and `rescind restore PATH` (rescind.security.backup)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr

from rescind.cli.common import DbOption, load_settings

PathArg = Annotated[Path, typer.Argument(help="The backup file.", show_default=False)]


def backup(path: PathArg, db: DbOption = None) -> None:
    """Write the database (SQLite online backup, or pg_dump for PostgreSQL), the generated
    secret key and the audit checkpoints to one file, mode 0600. It opens every contact detail:
    store it like the secret key."""
    from rescind.security.backup import BackupError, create_backup

    try:
        summary = create_backup(load_settings(db), path)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"backup of the {summary.backend} database (schema {summary.revision}) and "
        f"{len(summary.files) - 1} file(s) written to {path} (mode 0600)",
        err=True,
    )


def restore(
    path: PathArg,
    db: DbOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace a database that holds data, and set aside another secret key.",
        ),
    ] = False,
) -> None:
    """Restore a backup into the configured (empty) database and data directory; then run
    `rescind db upgrade` and `rescind audit verify`."""
    from rescind.security.backup import BackupError, restore_backup

    # The key is not needed to restore (it comes from the backup): a placeholder keeps a dev
    # install from generating a fresh key into the data directory first.
    settings = load_settings(db, secret_key=SecretStr("restore-" + "0" * 32))
    try:
        summary = restore_backup(settings, path, force=force)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"restored the {summary.backend} database (schema {summary.revision}, backup of "
        f"{summary.created_at}) and {len(summary.files) - 1} file(s); now run "
        "`rescind db upgrade` and `rescind audit verify`",
        err=True,
    )
