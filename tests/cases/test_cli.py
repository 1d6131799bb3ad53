"""`rescind user add`, `rescind first-login` (idempotent) and `rescind audit verify`."""

from __future__ import annotations

import re

from sqlalchemy import select, update
from typer.testing import CliRunner

from rescind.cli import app as cli
from rescind.config import Settings
from rescind.security.audit import record
from rescind.store import Database
from rescind.store.models import AuditEvent, User


def _env(settings: Settings) -> dict[str, str]:
    # The data dir holds the install's generated secret key, which keys the audit chain.
    return {
        "RESCIND_DATABASE_URL": settings.sqlalchemy_url,
        "RESCIND_ENVIRONMENT": "test",
        "RESCIND_DATA_DIR": str(settings.data_dir),
    }


def test_first_login_creates_one_admin_then_prints_no_secret(
    settings: Settings, database: Database
) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["first-login"], env=_env(settings))
    assert first.exit_code == 0, first.output
    match = re.search(r"Log in at http://127\.0\.0\.1:8000/console as admin / (\S+)", first.output)
    assert match
    second = runner.invoke(cli, ["first-login"], env=_env(settings))
    assert second.exit_code == 0 and match.group(1) not in second.output
    with database.session() as session:
        assert [(u.username, u.role) for u in session.scalars(select(User))] == [("admin", "admin")]


def test_user_add_prompts_for_the_password(settings: Settings, database: Database) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["user", "add", "rita", "--role", "reviewer", "--email", "rita@example.org"],
        input="a long enough password\na long enough password\n",
        env=_env(settings),
    )
    assert result.exit_code == 0, result.output
    weak = runner.invoke(cli, ["user", "add", "sam"], input="short\nshort\n", env=_env(settings))
    assert weak.exit_code == 2 and "12 characters" in weak.output
    with database.session() as session:
        user = session.scalars(select(User)).one()
        assert user.role == "reviewer" and user.password_hash.startswith("$argon2id$")


def test_audit_verify_finds_the_first_altered_event(settings: Settings, database: Database) -> None:
    with database.session() as session:
        ids = [record(session, "user:1", "request.view", subject_id=i).id for i in range(4)]
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify"], env=_env(settings))
    assert ok.exit_code == 0 and "4 events" in ok.output
    with database.session() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(actor="user:2"))
    broken = runner.invoke(cli, ["audit", "verify"], env=_env(settings))
    assert broken.exit_code == 1 and f"BROKEN at event {ids[1]}" in broken.output


def test_disable_reset_totp_and_password(settings: Settings, database: Database) -> None:
    runner = CliRunner()
    env = _env(settings)
    pw = "a long enough password\na long enough password\n"
    assert runner.invoke(cli, ["user", "add", "rita"], input=pw, env=env).exit_code == 0
    with database.session() as session:
        session.execute(update(User).values(totp_secret_enc=b"x"))
    listed = runner.invoke(cli, ["user", "list"], env=env)
    assert listed.output.split() == ["rita", "reviewer", "active", "totp"]
    assert runner.invoke(cli, ["user", "disable", "rita"], env=env).exit_code == 0
    assert runner.invoke(cli, ["user", "reset-totp", "rita"], env=env).exit_code == 0
    new = "another long password\nanother long password\n"
    assert runner.invoke(cli, ["user", "password", "rita"], input=new, env=env).exit_code == 0
    assert runner.invoke(cli, ["user", "disable", "nobody"], env=env).exit_code == 2
    with database.session() as session:
        user = session.scalars(select(User)).one()
        assert not user.active and user.totp_secret_enc is None
        actions = [e.action for e in session.scalars(select(AuditEvent))]
    assert actions[-3:] == ["user.disable", "user.totp_reset", "user.password_set"]
    assert runner.invoke(cli, ["user", "enable", "rita"], env=env).exit_code == 0
