"""`rescind serve` says at start when removal actions have nowhere to go."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from rescind.cli.serve import _warn_without_endpoint
from rescind.config import Settings
from rescind.store import Database


def test_serve_warns_without_a_webhook_endpoint(
    settings: Settings, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _warn_without_endpoint(settings)
    assert "no webhook endpoint is configured" in capsys.readouterr().err
    hooked = settings.model_copy(
        update={"webhook_url": "https://platform.example/hook", "webhook_secret": SecretStr("s")}
    )
    _warn_without_endpoint(hooked)
    assert capsys.readouterr().err == ""
