"""`rescind bank export|import`: move a bank's entries through files (docs/exchange.md).

Hashes go to stdout or the output file only, never to the log or the terminal's stderr; every
export and import is audited with its counts."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from rescind.cli.common import DbOption, open_database

bank_app = typer.Typer(help="Bank entries to and from files.", no_args_is_help=True)

FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        help="rescind (JSON Lines, docs/exchange.md), hma (HMA bank CSV), "
        "pytx (python-threatexchange file), vpdq (one video's frames).",
    ),
]


def _check_format(fmt: str) -> None:
    from rescind.exchange.files import FORMATS

    if fmt not in FORMATS:
        typer.echo(f"error: unknown format {fmt!r}; known: {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        typer.echo("error: --since takes an ISO 8601 time, e.g. 2026-05-19T00:00:00Z", err=True)
        raise typer.Exit(2) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@bank_app.command("export")
def bank_export(
    name: Annotated[str, typer.Argument(help="The bank to export.")],
    since: Annotated[
        str | None, typer.Option(help="Only entries changed since this ISO 8601 time.")
    ] = None,
    fmt: FormatOption = "rescind",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write a bank's entries (withdrawn ones too, in the rescind format) to stdout or a file."""
    from rich.console import Console
    from rich.progress import Progress
    from sqlalchemy import func, select

    from rescind.exchange.files import write_line
    from rescind.exchange.identity import load_identity
    from rescind.exchange.transfer import export_entries
    from rescind.platform.banks import ensure_default_banks, get_bank
    from rescind.platform.errors import PlatformError
    from rescind.security import audit
    from rescind.store.models import BankEntry

    _check_format(fmt)
    after = _since(since)
    written = 0
    with open_database(db) as (settings, database):
        identity = load_identity(settings)
        with database.session() as session:
            try:
                ensure_default_banks(session, settings)
                bank = get_bank(session, name)
            except PlatformError as exc:
                typer.echo(f"error: {exc.detail}", err=True)
                raise typer.Exit(1) from exc
            bank_id, bank_name = bank.id, bank.name
            total = session.scalar(
                select(func.count()).select_from(BankEntry).where(BankEntry.bank_id == bank_id)
            )
            out = output.open("w") if output else sys.stdout
            try:
                with Progress(console=Console(stderr=True), transient=True) as bar:
                    task = bar.add_task("exporting", total=total)
                    frame = 0
                    for entry in export_entries(
                        session, settings, bank, identity.instance_id, since=after
                    ):
                        line = write_line(entry, fmt, frame)
                        if line is not None:
                            out.write(line)
                            written += 1
                            frame += entry.signal_type == "video_pdq"
                        bar.advance(task)
            finally:
                if output:
                    out.close()
                else:
                    out.flush()
        with database.session() as session:
            audit.record(
                session,
                "cli",
                "bank.exported",
                subject_type="bank",
                subject_id=bank_id,
                detail={"format": fmt, "entries": written, "since": since},
            )
    typer.echo(f"exported {written} entries of {bank_name}", err=True)


class _Counting:
    """A binary file that counts the bytes read from it (for the progress bar)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.done = 0

    def __iter__(self) -> _Counting:
        return self

    def __next__(self) -> str:
        line = self.raw.readline()
        if not line:
            raise StopIteration
        self.done += len(line)
        try:
            return line.decode()
        except UnicodeDecodeError:
            return "\ufffd"  # not JSON nor a hash: the parser names the line


@bank_app.command("import")
def bank_import(
    name: Annotated[str, typer.Argument(help="The bank to add the entries to.")],
    file: Annotated[Path, typer.Argument(help="The file to read; - reads stdin.")],
    fmt: FormatOption = "rescind",
    db: DbOption = None,
) -> None:
    """Apply a file's entries to a bank, all or nothing: a bad line names its number and
    nothing is imported. Withdrawals in the file withdraw the entries imported before."""
    from rich.console import Console
    from rich.progress import Progress

    from rescind.exchange.files import READERS
    from rescind.exchange.transfer import apply_entries
    from rescind.platform.banks import ensure_default_banks, get_bank
    from rescind.platform.errors import PlatformError
    from rescind.security import audit

    _check_format(fmt)
    raw: BinaryIO = sys.stdin.buffer if str(file) == "-" else file.open("rb")
    size = None if str(file) == "-" else file.stat().st_size
    counting = _Counting(raw)
    try:
        with open_database(db) as (settings, database):
            try:
                with (
                    database.session() as session,
                    Progress(console=Console(stderr=True), transient=True) as bar,
                ):
                    task = bar.add_task("importing", total=size)
                    ensure_default_banks(session, settings)
                    bank = get_bank(session, name)
                    report = apply_entries(
                        session,
                        bank,
                        READERS[fmt](counting),
                        source="import",
                        progress=lambda _n: bar.update(task, completed=counting.done),
                    )
                    audit.record(
                        session,
                        "cli",
                        "bank.imported",
                        subject_type="bank",
                        subject_id=bank.id,
                        detail={"format": fmt, **report.as_detail()},
                    )
            except PlatformError as exc:
                typer.echo(f"error: {exc.detail}; nothing was imported", err=True)
                raise typer.Exit(1) from exc
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()
    typer.echo(
        f"imported into {name}: {report.added} added, {report.withdrawn} withdrawn, "
        f"{report.unchanged} unchanged",
        err=True,
    )
