"""`rescind bank|partner|exchange`: exit codes, one clear line, audit, and no hash on stderr."""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from rescind.cli import app as cli
from rescind.config import Settings
from rescind.exchange.identity import KEY_FILE
from rescind.store import Database
from rescind.store.models import AuditEvent


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "RESCIND_DATA_DIR": str(settings.data_dir),
        "RESCIND_DATABASE_URL": settings.sqlalchemy_url,
        "RESCIND_ENVIRONMENT": "test",
        **extra,
    }


def _line(i: int, value: str) -> str:
    return json.dumps({
        "v": 1, "id": str(i), "type": "pdq", "value": value, "quality": 90, "t": None,
        "group": None, "opinion": "positive", "status": "active",
        "source": {"instance": "peer", "bank": None, "case": None},
        "created_at": None, "updated_at": None,
    }) + "\n"  # fmt: skip


def test_import_export_and_audit(settings: Settings, database: Database, tmp_path: Path) -> None:
    values = [secrets.token_hex(32) for _ in range(5)]
    good = tmp_path / "good.jsonl"
    good.write_text("".join(_line(i, v) for i, v in enumerate(values)))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good.read_text() + '{"v": 1, "id": "x"}\n')
    runner = CliRunner()
    env = _env(settings)

    refused = runner.invoke(cli, ["bank", "import", "ncii", str(bad)], env=env)
    assert refused.exit_code == 1 and "line 6" in refused.output and "nothing" in refused.output
    done = runner.invoke(cli, ["bank", "import", "ncii", str(good)], env=env)
    assert done.exit_code == 0 and "5 added" in done.output
    assert not any(v in done.output + refused.output for v in values)
    exported = runner.invoke(cli, ["bank", "export", "ncii", "--format", "pytx"], env=env)
    assert exported.exit_code == 0
    assert sorted(line.split()[1] for line in exported.stdout.splitlines() if line) == sorted(
        values
    )
    with database.session() as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    actions = [e.action for e in events]
    assert "bank.imported" in actions and "bank.exported" in actions
    assert not any(v in json.dumps([e.detail for e in events]) for v in values)


def test_identity_is_private_and_stable(settings: Settings) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["exchange", "identity"], env=_env(settings))
    second = runner.invoke(cli, ["exchange", "identity"], env=_env(settings))
    assert first.exit_code == 0 and first.stdout == second.stdout
    assert len(first.stdout.strip()) == 44
    mode = os.stat(Path(settings.data_dir) / KEY_FILE).st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_partner_add_refuses_private_hosts_and_lists_state(settings: Settings) -> None:
    runner = CliRunner()
    key = runner.invoke(cli, ["exchange", "identity"], env=_env(settings)).stdout.strip()
    args = ["partner", "add", "a", "http://127.0.0.1:9", "--api-key", "k", "--public-key", key]
    refused = runner.invoke(cli, args, env=_env(settings))
    assert refused.exit_code == 2 and "private or loopback" in refused.output
    metadata = runner.invoke(
        cli,
        ["partner", "add", "m", "http://169.254.169.254", "--api-key", "k", "--public-key", key],
        env=_env(settings, RESCIND_EXCHANGE_ALLOW_PRIVATE="true"),
    )
    assert metadata.exit_code == 2 and "link-local" in metadata.output
    allowed = _env(settings, RESCIND_EXCHANGE_ALLOW_PRIVATE="true", RESCIND_EXCHANGE_TIMEOUT_S="2")
    assert runner.invoke(cli, args, env=allowed).exit_code == 0
    pulled = runner.invoke(cli, ["exchange", "pull", "a"], env=allowed)
    assert pulled.exit_code == 1 and "cannot reach the partner" in pulled.output
    listed = runner.invoke(cli, ["partner", "list"], env=allowed)
    assert "cursor=0" in listed.stdout and "cannot reach the partner" in listed.stdout
    assert "k\t" not in listed.stdout  # the API key never shows
    assert runner.invoke(cli, ["partner", "disable", "a"], env=allowed).exit_code == 0
    assert "disabled" in runner.invoke(cli, ["partner", "list"], env=allowed).stdout
