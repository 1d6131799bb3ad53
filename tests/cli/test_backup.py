"""`rescind backup` / `rescind restore` round trip on SQLite and PostgreSQL: cases filed and a
checkpoint written, backed up (mode 0600), everything wiped (database and data directory),
restored; the cases are there, their contact details open with the restored key, and
`rescind audit verify` passes. A restore over a database in use, or with another secret key in
the data directory, is refused unless forced."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from rescind.cases.intake import submit_request
from rescind.cli import app as cli
from rescind.config import Settings
from rescind.security.crypto import Sealer
from rescind.store import Database
from rescind.store.models import Request
from tests.cases.support import valid_input


def _env(settings: Settings) -> dict[str, str]:
    return {
        "RESCIND_DATABASE_URL": settings.sqlalchemy_url,
        "RESCIND_DATA_DIR": str(settings.data_dir),
        "RESCIND_ENVIRONMENT": "test",
    }


def _wipe(settings: Settings, request: pytest.FixtureRequest) -> None:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
    else:
        name = make_url(url).database
        admin = create_engine(
            request.getfixturevalue("pg_cluster").url(), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    shutil.rmtree(settings.data_dir)


def test_backup_wipe_restore_round_trip(
    settings: Settings, database: Database, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    runner = CliRunner()
    env = _env(settings)
    with database.session() as session:
        numbers = {
            submit_request(session, settings, valid_input(email=f"p{i}@example.org")).case_number
            for i in range(3)
        }
    assert runner.invoke(cli, ["audit", "checkpoint"], env=env).exit_code == 0
    database.dispose()

    archive = tmp_path / "backups" / "rescind.backup"
    done = runner.invoke(cli, ["backup", str(archive)], env=env)
    assert done.exit_code == 0, done.output
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    key = (settings.data_dir / "secret-key").read_text()

    _wipe(settings, request)
    restored = runner.invoke(cli, ["restore", str(archive)], env=env)
    assert restored.exit_code == 0, restored.output
    assert (settings.data_dir / "secret-key").read_text() == key
    verified = runner.invoke(cli, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    assert "chain intact" in verified.output and "1 checkpoints hold" in verified.output
    again = Settings(
        **{
            "environment": "test",
            "data_dir": settings.data_dir,
            "database_url": settings.sqlalchemy_url,
        }
    )
    fresh = Database(again)
    try:
        with fresh.session() as session:
            cases = list(session.scalars(select(Request)))
            assert {c.case_number for c in cases} == numbers
            emails = {Sealer(again).open(c.requester_email_enc) for c in cases}
            assert emails == {f"p{i}@example.org" for i in range(3)}
    finally:
        fresh.dispose()

    # Over a database in use: refused, then forced.
    refused = runner.invoke(cli, ["restore", str(archive)], env=env)
    assert refused.exit_code == 1 and "already holds data" in refused.output
    forced = runner.invoke(cli, ["restore", "--force", str(archive)], env=env)
    assert forced.exit_code == 0, forced.output
    assert runner.invoke(cli, ["audit", "verify"], env=env).exit_code == 0


def test_restore_refuses_another_key_and_a_file_that_is_no_backup(
    settings: Settings, database: Database, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    runner = CliRunner()
    env = _env(settings)
    with database.session() as session:
        submit_request(session, settings, valid_input())
    database.dispose()
    archive = tmp_path / "b.backup"
    assert runner.invoke(cli, ["backup", str(archive)], env=env).exit_code == 0
    _wipe(settings, request)
    settings.data_dir.mkdir()
    (settings.data_dir / "secret-key").write_text("another-key-" + "x" * 40)
    refused = runner.invoke(cli, ["restore", str(archive)], env=env)
    assert refused.exit_code == 1 and "another secret key" in refused.output
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a tar file")
    unreadable = runner.invoke(cli, ["restore", str(junk)], env=env)
    assert unreadable.exit_code == 1 and "cannot read" in unreadable.output
