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


@report_app.command("transparency-db")
def transparency_db(
    start: FromOption = None,
    end: ToOption = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Directory for the batch files.")
    ] = Path("transparency-db"),
    ground: Annotated[
        str,
        typer.Option(help="illegal (the law, default) or terms (the platform's terms)."),
    ] = "illegal",
    synthetic: Annotated[
        list[str] | None,
        typer.Option(
            "--synthetic",
            help="A case whose imagery is synthetic (adds the deepfake keyword); repeatable.",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Statements of reasons for the EU DSA Transparency Database: one per removal the
    platform confirmed in [--from, --to), validated against the database's field rules, in
    files of at most 100 (`batch-00001.json`, the body of one `POST /api/v1/statements`)."""
    from datetime import datetime

    from rescind.reports.transparency_db import InvalidStatements, export
    from rescind.security import audit

    if ground not in ("illegal", "terms"):
        typer.echo("error: --ground must be illegal or terms", err=True)
        raise typer.Exit(2)
    since, until = _period(start, end)
    assert isinstance(since, datetime) and isinstance(until, datetime)
    with open_database(db) as (settings, database), database.session() as session:
        try:
            done = export(
                session,
                settings,
                since,
                until,
                output,
                ground=ground,
                synthetic=frozenset(synthetic or ()),
            )
        except InvalidStatements as exc:
            typer.echo(f"error: a statement breaks the database's rules: {exc}", err=True)
            raise typer.Exit(1) from None
        audit.record(
            session,
            "cli",
            "report.transparency_db",
            detail={
                "from": since.isoformat(),
                "to": until.isoformat(),
                "statements": done.statements,
                "files": len(done.files),
            },
        )
    typer.echo(f"{done.statements} statements in {len(done.files)} files under {output}")


@report_app.command("dsa-figures")
def dsa_figures(
    start: FromOption = None,
    end: ToOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    db: DbOption = None,
) -> None:
    """The DSA Art. 15/24 transparency report figures Rescind holds, as CSV in the sections of
    the Implementing Regulation (EU) 2024/2835 quantitative template."""
    from datetime import datetime

    from rescind.reports.dsa_templates import to_csv
    from rescind.security import audit

    since, until = _period(start, end)
    assert isinstance(since, datetime) and isinstance(until, datetime)
    with open_database(db) as (_settings, database), database.session() as session:
        text = to_csv(session, since, until)
        audit.record(
            session,
            "cli",
            "report.dsa_figures",
            detail={"from": since.isoformat(), "to": until.isoformat()},
        )
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8", newline="")
        typer.echo(f"wrote {output}", err=True)
