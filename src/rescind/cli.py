"""The `rescind` command line: one Typer app, thin commands that call services."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from rescind.cases import commands as case_commands
from rescind.config import Settings
from rescind.platform import commands as platform_commands

app = typer.Typer(
    name="rescind",
    help="Take down non-consensual intimate imagery and keep it down.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
apikey_app = typer.Typer(help="API keys for platforms and partners.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
platform_commands.register(app)  # worker, webhook add/list/disable
case_commands.register(app)  # user add, first-login, audit verify

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (sets RESCIND_DATABASE_URL).", show_default=False),
]


def load_settings(db: str | None = None, **overrides: object) -> Settings:
    """Settings from the environment, with command-line overrides applied."""
    if db:
        overrides["database_url"] = db
    return Settings(**overrides)  # type: ignore[arg-type]


@app.callback()
def main() -> None:
    """Rescind command line."""


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Apply every pending schema migration."""
    from rescind.store import upgrade_database

    upgrade_database(load_settings(db))
    typer.echo("database is up to date", err=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    db: DbOption = None,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker", help="Do not run background jobs here (run `rescind worker` instead)."
        ),
    ] = False,
    processes: Annotated[
        int | None,
        typer.Option(
            min=1, max=64, help="Server processes sharing the port (sets RESCIND_WEB_PROCESSES)."
        ),
    ] = None,
) -> None:
    """Migrate the database, then serve the web app and API (and, by default, the worker)."""
    import uvicorn

    from rescind.store import upgrade_database
    from rescind.web import create_app
    from rescind.web.serving import HTTP_PROTOCOL

    overrides: dict[str, object] = {}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    if processes:
        overrides["web_processes"] = processes
    settings = load_settings(db, **overrides)
    upgrade_database(settings)
    run_worker = settings.embedded_worker and not no_worker
    # No access log: request paths carry case numbers, and logging every check costs throughput.
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "access_log": False,
        # No `server: uvicorn` header: it tells a prober what runs here, and every check
        # response would carry it.
        "server_header": False,
        # uvicorn's protocol, writing each response in one piece.
        "http": HTTP_PROTOCOL,
    }
    if settings.web_processes == 1:
        uvicorn.run(create_app(settings, run_worker=run_worker), **options)
        return
    # Several processes: each builds its app from the environment, so hand them this command's
    # options there. The job worker runs once, here in the supervising process.
    os.environ.update(
        {
            "RESCIND_HOST": settings.host,
            "RESCIND_PORT": str(settings.port),
            "RESCIND_DATABASE_URL": settings.sqlalchemy_url,
        }
    )
    with _embedded_worker(settings, run_worker):
        uvicorn.run(
            "rescind.web.app:create_app",
            factory=True,
            workers=settings.web_processes,
            **options,
        )


@contextmanager
def _embedded_worker(settings: Settings, enabled: bool) -> Iterator[None]:
    """Run the job worker in a thread of this process while the block runs."""
    if not enabled:
        yield
        return
    from rescind.jobs import Worker
    from rescind.jobs.registry import build_registry
    from rescind.store import Database

    database = Database(settings)
    worker = Worker(settings, database, build_registry())
    thread = threading.Thread(target=worker.run_forever, name="rescind-worker", daemon=True)
    thread.start()
    typer.echo(f"worker {worker.worker_id} running in the supervising process", err=True)
    try:
        yield
    finally:
        worker.stop()
        thread.join(timeout=60)
        database.dispose()


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="Who the key is for, e.g. 'uploads-service'.")],
    scopes: Annotated[
        str,
        typer.Option(
            help="Comma-separated: check, content, requests:write, requests:read, review, exchange."
        ),
    ] = "check",
    db: DbOption = None,
) -> None:
    """Create an API key. The key is printed once, on the last line, and never stored."""
    from rescind.platform.apikeys import ApiKeyError, create_api_key, parse_scopes
    from rescind.store import Database

    try:
        wanted = parse_scopes(scopes)
    except ApiKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    database = Database(load_settings(db))
    with database.session() as session:
        row, key = create_api_key(session, name, wanted)
        typer.echo(f"created key {row.id} ({row.name}) with scopes {row.scopes}")
    database.dispose()
    typer.echo(key)


@apikey_app.command("list")
def apikey_list(db: DbOption = None) -> None:
    """List API keys (names, scopes, state; never the keys)."""
    from rescind.platform.apikeys import list_api_keys
    from rescind.store import Database

    database = Database(load_settings(db))
    with database.session() as session:
        for row in list_api_keys(session):
            state = "revoked" if row.revoked_at else "active"
            typer.echo(f"{row.id}\t{row.name}\t{row.scopes}\t{state}")
    database.dispose()


@apikey_app.command("revoke")
def apikey_revoke(key_id: int, db: DbOption = None) -> None:
    """Revoke an API key (effective within seconds on every server)."""
    from rescind.platform.apikeys import revoke_api_key
    from rescind.store import Database

    database = Database(load_settings(db))
    with database.session() as session:
        found = revoke_api_key(session, key_id)
    database.dispose()
    if not found:
        typer.echo(f"error: no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked key {key_id}")


@app.command("hash")
def hash_command(
    paths: Annotated[
        list[Path], typer.Argument(help="Image or video files; directories are walked.")
    ],
    dihedral: Annotated[
        bool, typer.Option("--dihedral", help="Also hash the 7 other rotations/flips of images.")
    ] = False,
    fps: Annotated[
        float, typer.Option(min=0.01, max=120.0, help="Video frames hashed per second.")
    ] = 1.0,
) -> None:
    """Print one JSON object per file: kind, MD5, SHA-256 and PDQ hashes (exit 1 if any failed)."""
    import json

    from rich.console import Console
    from rich.progress import Progress

    from rescind.media import hash_file, iter_media_paths

    files = iter_media_paths(paths)
    failed = False
    # The bar goes to stderr, and only for long runs: stdout carries nothing but JSON lines.
    with Progress(console=Console(stderr=True), disable=len(files) <= 20, transient=True) as bar:
        task = bar.add_task("hashing", total=len(files))
        for path in files:
            result = hash_file(path, dihedral=dihedral, fps=fps)
            failed = failed or "error" in result
            typer.echo(json.dumps(result))
            bar.advance(task)
    if failed:
        raise typer.Exit(1)
