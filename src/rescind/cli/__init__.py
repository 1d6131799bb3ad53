"""The `rescind` command line: one Typer app, thin commands that call services.

Every command lives in this package, one module per concern; nothing below `web` and `cli`
imports it."""

from __future__ import annotations

import typer

from rescind.cli.apikeys import apikey_app
from rescind.cli.audit import audit_app
from rescind.cli.backup import backup, restore
from rescind.cli.bank import bank_app
from rescind.cli.common import load_settings
from rescind.cli.db import db_app
from rescind.cli.exchange import exchange_app
from rescind.cli.media import hash_command
from rescind.cli.partner import partner_app
from rescind.cli.report import report_app
from rescind.cli.serve import serve, worker
from rescind.cli.users import first_login, user_app
from rescind.cli.webhooks import webhook_app

__all__ = ["app", "load_settings"]

app = typer.Typer(
    name="rescind",
    help="Take down non-consensual intimate imagery and keep it down.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """Rescind command line."""


app.command()(serve)
app.command()(worker)
app.command("hash")(hash_command)
app.command("first-login")(first_login)
app.command()(backup)
app.command()(restore)
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(webhook_app, name="webhook")
app.add_typer(bank_app, name="bank")
app.add_typer(partner_app, name="partner")
app.add_typer(exchange_app, name="exchange")
app.add_typer(report_app, name="report")
