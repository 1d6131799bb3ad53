"""`rescind report ...`: compliance reports and DSA transparency exports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rescind.cli.common import DbOption, open_database

report_app = typer.Typer(
    help="Compliance reports: figures of a period; DSA transparency exports.",
    invoke_without_command=True,
)

FromOption = Annotated[
    str | None,
    typer.Option("--from", help="First day (YYYY-MM-DD, UTC) or ISO 8601 time, included."),
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", help="End day (YYYY-MM-DD, UTC) or ISO 8601 time, excluded."),
]


def _period(start: str | None, end: str | None) -> tuple[object, object]:
    from rescind.reports.period import InvalidPeriod, parse_period

    if not start or not end:
        typer.echo("error: give the period with --from DATE --to DATE", err=True)
        raise typer.Exit(2)
    try:
        return parse_period(start, end)
    except InvalidPeriod as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@report_app.callback()
def report(
    ctx: typer.Context,
    start: FromOption = None,
    end: ToOption = None,
    fmt: Annotated[
        str, typer.Option("--format", help="csv, json, html or pdf.", show_default=True)
    ] = "html",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Figures of the cases received in [--from, --to): requests, deadlines met and missed,
    time to confirmed removal per clock, copies, leads, automated decisions, and the audit
    chain head they were computed from. Every figure links to its cases in the console."""
    if ctx.invoked_subcommand is not None:
        return
    from datetime import datetime

    from rescind.reports.render import FORMATS, PdfUnavailable
    from rescind.reports.service import produce

    if fmt not in FORMATS:
        typer.echo(f"error: --format must be one of {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)
    since, until = _period(start, end)
    assert isinstance(since, datetime) and isinstance(until, datetime)
    with open_database(db) as (settings, database), database.session() as session:
        try:
            _report, body = produce(session, settings, since, until, fmt, actor="cli")
        except PdfUnavailable as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    if output is None:
        typer.echo(body.decode() if fmt != "pdf" else body, nl=False)
        return
    output.write_bytes(body)
    typer.echo(f"wrote {output} ({len(body)} bytes)", err=True)
