"""`rescind user ...` and `rescind first-login`: staff accounts of the review console."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer

from rescind.cases.users import ROLES
from rescind.cli.common import DbOption, open_database
from rescind.store.statuses import Role

user_app = typer.Typer(help="Staff accounts of the review console.", no_args_is_help=True)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")] = Role.REVIEWER.value,
    email: Annotated[
        str | None, typer.Option(help="Where escalation emails go.", show_default=False)
    ] = None,
    random_password: Annotated[
        bool, typer.Option("--random-password", help="Generate a password and print it once.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Create a console user (asks for the password unless --random-password)."""
    from rescind.cases.users import UserError, create_user

    if random_password:
        password = secrets.token_urlsafe(15)
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with open_database(db) as (_settings, database):
        try:
            with database.session() as session:
                user = create_user(session, username, password, role, email=email, actor="cli")
                typer.echo(f"created {user.role} {user.username!r} (id {user.id})")
        except UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    if random_password:
        typer.echo(password)


@user_app.command("list")
def user_list(db: DbOption = None) -> None:
    """List console users: name, role, state, two-step sign-in."""
    from rescind.cases.users import list_users

    with open_database(db) as (_settings, database), database.session() as session:
        for user in list_users(session):
            state = "active" if user.active else "disabled"
            totp = "totp" if user.totp_secret_enc else "-"
            typer.echo(f"{user.username}\t{user.role}\t{state}\t{totp}")


def _change_user(db: str | None, username: str, what: str) -> None:
    from rescind.cases import users

    with open_database(db) as (_settings, database):
        try:
            with database.session() as session:
                user = users.find_user(session, username)
                if what == "disable":
                    users.set_active(session, user, False, actor="cli")
                elif what == "enable":
                    users.set_active(session, user, True, actor="cli")
                elif what == "reset-totp":
                    users.reset_totp(session, user, actor="cli")
                else:
                    password = typer.prompt(
                        "New password", hide_input=True, confirmation_prompt=True
                    )
                    users.set_password(session, user, password, actor="cli")
        except users.UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(f"{what}: {username}")


@user_app.command("disable")
def user_disable(username: str, db: DbOption = None) -> None:
    """Disable a user (every console sign-in of theirs ends at once)."""
    _change_user(db, username, "disable")


@user_app.command("enable")
def user_enable(username: str, db: DbOption = None) -> None:
    """Re-enable a disabled user."""
    _change_user(db, username, "enable")


@user_app.command("reset-totp")
def user_reset_totp(username: str, db: DbOption = None) -> None:
    """Remove a user's two-step sign-in (lost phone); they enrol again from Account."""
    _change_user(db, username, "reset-totp")


@user_app.command("password")
def user_password(username: str, db: DbOption = None) -> None:
    """Set a new password for a user (asks for it); their console sign-ins end."""
    _change_user(db, username, "password")


def first_login(db: DbOption = None) -> None:
    """On an empty user table, create `admin` with a random password and say how to log in.

    Idempotent: once any user exists it prints nothing secret.
    """
    from rescind.cases.users import first_admin

    with open_database(db) as (settings, database), database.session() as session:
        created = first_admin(session)
    url = f"http://{settings.host}:{settings.port}/console"
    if created is None:
        typer.echo(f"Console: {url} (users exist; `rescind user add` creates more)")
        return
    user, password = created
    typer.echo(f"Log in at {url} as {user.username} / {password}")
