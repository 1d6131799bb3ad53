"""Commands that need the schema say so in one line when it is not there."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rescind.cli import app as cli
from rescind.config import Settings
from rescind.store import upgrade_database


@pytest.mark.parametrize(
    "command",
    [
        ["first-login"],
        ["user", "list"],
        ["apikey", "list"],
        ["webhook", "list"],
        ["audit", "verify"],
    ],
)
def test_an_unmigrated_database_gets_one_clear_line(tmp_path: Path, command: list[str]) -> None:
    env = {"RESCIND_DATA_DIR": str(tmp_path), "RESCIND_ENVIRONMENT": "test"}
    result = CliRunner().invoke(cli, command, env=env)
    assert result.exit_code == 2
    assert "rescind db upgrade" in result.output
    assert "Traceback" not in result.output and result.exception is not None
    assert isinstance(result.exception, SystemExit)


def test_an_older_schema_is_refused_too(tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path)
    upgrade_database(settings, "0001")
    env = {"RESCIND_DATA_DIR": str(tmp_path), "RESCIND_ENVIRONMENT": "test"}
    result = CliRunner().invoke(cli, ["first-login"], env=env)
    assert result.exit_code == 2 and "not migrated" in result.output
    upgrade_database(settings)
    assert CliRunner().invoke(cli, ["first-login"], env=env).exit_code == 0
