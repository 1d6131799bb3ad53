"""`rescind audit checkpoint` and `rescind audit verify`, and the worker's periodic checkpoint
and verification."""

from __future__ import annotations

from sqlalchemy import delete
from typer.testing import CliRunner

from rescind.cli import app as cli
from rescind.config import Settings
from rescind.jobs.runner import Worker
from rescind.security.audit import record
from rescind.security.audit_checkpoints import checkpoint_dir, last_verification
from rescind.services import build_job_registry
from rescind.store import Database
from rescind.store.models import AuditEvent


def _env(settings: Settings) -> dict[str, str]:
    return {
        "RESCIND_DATABASE_URL": settings.sqlalchemy_url,
        "RESCIND_DATA_DIR": str(settings.data_dir),
        "RESCIND_ENVIRONMENT": "test",
    }


def _fill(database: Database, n: int) -> list[int]:
    with database.session() as session:
        return [record(session, "user:1", "request.view", subject_id=i).id for i in range(n)]


def test_verify_reports_rows_removed_after_a_checkpoint(
    settings: Settings, database: Database
) -> None:
    ids = _fill(database, 4)
    runner = CliRunner()
    written = runner.invoke(cli, ["audit", "checkpoint"], env=_env(settings))
    assert written.exit_code == 0 and f"checkpoint of event {ids[-1]} (4 events)" in written.output
    again = runner.invoke(cli, ["audit", "checkpoint"], env=_env(settings))
    assert again.exit_code == 0 and "already checkpointed" in again.output
    ok = runner.invoke(cli, ["audit", "verify"], env=_env(settings))
    assert ok.exit_code == 0, ok.output
    assert "4 events, chain intact, 1 checkpoints hold" in ok.output
    with database.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id == ids[-1]))
    broken = runner.invoke(cli, ["audit", "verify"], env=_env(settings))
    assert broken.exit_code == 1
    assert f"BROKEN at event {ids[-1]}: the newest events were removed" in broken.output


def test_verify_names_an_altered_checkpoint_file(settings: Settings, database: Database) -> None:
    _fill(database, 2)
    runner = CliRunner()
    assert runner.invoke(cli, ["audit", "checkpoint"], env=_env(settings)).exit_code == 0
    (path,) = checkpoint_dir(settings).glob("cp-*.json")
    path.write_text(path.read_text().replace('"events": 2', '"events": 3'))
    broken = runner.invoke(cli, ["audit", "verify"], env=_env(settings))
    assert broken.exit_code == 1 and f"BROKEN checkpoint {path.name}" in broken.output


def test_the_worker_checkpoints_and_records_a_verification(
    settings: Settings, database: Database
) -> None:
    _fill(database, 3)
    worker = Worker(settings, database, build_job_registry())
    worker.ensure_periodics()
    while worker.run_once():
        pass
    assert len(list(checkpoint_dir(settings).glob("cp-*.json"))) == 1
    with database.session() as session:
        verified = last_verification(session)
        assert verified is not None and verified.actor == "system"
        assert verified.detail is not None and verified.detail["ok"] is True
